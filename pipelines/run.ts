import type { Observable } from 'rxjs';
import type { PipelineStats } from '../src/stats/pipeline-stats';
import type { AnnotatedFrame } from '../src/track/annotated-frame';

/** What every run reports of itself, whatever its source. */
export interface RunTotals {
  frames: number;
  /** Frames the model ran on. */
  inferred: number;
  /** Instances reported over all frames, and distinct track ids among them. */
  instances: number;
  tracks: number;
  seconds: number;
  fps: number;
  /** True when `stop` ended the run before the source did. */
  interrupted: boolean;
}

/**
 * Subscribes to a pipeline's output and runs it to its end: each frame is counted, shown to `onFrame`, then handed
 * back to its pool (the last stage owns it). `stop` only needs watching to tell an interrupted run from one that
 * ran out of input: stopping itself is the pipeline's business (`takeUntil` at its source).
 */
export async function runToEnd<T extends AnnotatedFrame>(
  frames: Observable<T>,
  stats: PipelineStats,
  options: { stop?: Observable<unknown>; onFrame?: (item: T, stats: PipelineStats) => void } = {},
): Promise<RunTotals> {
  let interrupted = false;
  const stopSubscription = options.stop?.subscribe(() => {
    interrupted = true;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      frames.subscribe({
        next: (item) => {
          stats.record(item);
          options.onFrame?.(item, stats);
          item.frame.release();
        },
        error: reject,
        complete: resolve,
      });
    });
  } finally {
    stopSubscription?.unsubscribe();
  }
  return {
    frames: stats.frames,
    inferred: stats.inferred,
    instances: stats.instances,
    tracks: stats.tracks,
    seconds: stats.output.elapsed,
    fps: stats.output.averageFps,
    interrupted,
  };
}
