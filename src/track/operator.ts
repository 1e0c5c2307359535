import { defer, map, type OperatorFunction } from 'rxjs';
import { MaskTracker, type TrackInput, type TrackedInstance, type TrackerConfig } from './tracker';

/** A frame with its tracked instances; `input` is the frame as it came in, so stages after see all of it. */
export interface TrackOutput<T extends TrackInput = TrackInput> {
  readonly input: T;
  /** Instances to report on this frame, by descending score (see `MaskTracker.update`). */
  readonly instances: TrackedInstance[];
}

/**
 * Tracks instances across the frames of a stream, inferred and carried ones alike. Each subscription gets its own
 * tracker (made on subscribe), so one operator can serve several videos without their ids or motion mixing; a bad
 * config or frame becomes an error on the stream rather than an exception at the caller.
 */
export function trackInstances<T extends TrackInput>(
  config: Partial<TrackerConfig> = {},
): OperatorFunction<T, TrackOutput<T>> {
  return (source) =>
    defer(() => {
      const tracker = new MaskTracker(config);
      return source.pipe(map((input): TrackOutput<T> => ({ input, instances: tracker.update(input) })));
    });
}
