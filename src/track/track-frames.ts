import { map, pipe, type OperatorFunction } from 'rxjs';
import type { InferredFrame, SchedulableFrame } from '../infer/schedule';
import type { DecodedFrame } from '../video/decode';
import type { AnnotatedFrame } from './annotated-frame';
import { backfillTentative } from './backfill';
import { trackInstances } from './operator';
import type { TrackInput, TrackerConfig } from './tracker';

interface Pending<F extends SchedulableFrame> extends TrackInput {
  readonly item: InferredFrame<F>;
}

export interface TrackFramesOptions {
  /**
   * Report confirmed tracks from their first detection (`TentativeBackfill`), holding each frame until the
   * tentative tracks in it are decided, but never more than `maxHeld` frames: fewer than the decoder's buffers.
   */
  backfill?: { maxHeld: number };
}

/**
 * The tracker between inference and the outputs: every frame, inferred or not, leaves with its tracked instances
 * (ids, and on frames the model skipped, masks and boxes moved along by each track's motion).
 */
export function trackFrames<F extends SchedulableFrame & DecodedFrame>(
  config: Partial<TrackerConfig> = {},
  options: TrackFramesOptions = {},
): OperatorFunction<InferredFrame<F>, AnnotatedFrame<F>> {
  const { backfill } = options;
  return pipe(
    map((item): Pending<F> => {
      const { frame } = item;
      return { index: frame.index, pts: frame.pts, width: frame.width, height: frame.height, inferred: item.inferred, detections: item.detections, item };
    }),
    trackInstances<Pending<F>>(backfill ? { ...config, reportTentative: true } : config),
    backfill ? backfillTentative<Pending<F>>(backfill.maxHeld, (pending) => pending.item.frame.release()) : pipe(),
    map(({ input, instances }): AnnotatedFrame<F> => ({
      frame: input.item.frame,
      inferred: input.item.inferred,
      instances: instances.map((t) => ({ id: t.id, classId: t.classId, label: t.label, score: t.score, box: t.box, mask: t.mask, velocity: t.velocity })),
      ...(input.item.modelMs !== undefined ? { modelMs: input.item.modelMs } : {}),
    })),
  );
}
