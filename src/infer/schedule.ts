/**
 * Which frames the model runs on, and the double-buffered hand-off to the inference workers.
 *
 * Every frame comes out, in order, whether the model ran on it or not: frames the model skipped carry
 * `inferred: false` and no detections (the tracker fills them in). Two policies:
 * - `file`: every frame the selection picks is inferred. Up to `depth` frames per worker are in its hands (one
 *   running, one already there and waiting: double buffering). When all workers are full the frames behind wait,
 *   holding their decoder buffers, and the decoder, out of buffers, stops reading: backpressure, nothing dropped.
 * - `live`: the source never waits. Whenever a worker is free it takes the newest eligible frame; older frames
 *   that were waiting for a worker are skipped, and a frame older than `maxLatencyMs` is never started.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Detection } from '../model/mask-rcnn';
import type { LendableFrame } from '../video/frame';
import type { ModelImage } from './protocol';
import type { InferenceResult } from './worker';

/** What the scheduler needs of the workers (`InferencePool`). */
export interface InferenceService {
  canTake(depth: number): boolean;
  submit(image: ModelImage): Promise<InferenceResult>;
}

export interface SchedulableFrame extends LendableFrame {
  /** `performance.now()` when the frame was decoded: its age decides whether it is still worth inferring. */
  readonly decodedAt: number;
}

export interface InferredFrame<F extends SchedulableFrame> {
  readonly frame: F;
  /** True when the model ran on this frame. */
  readonly inferred: boolean;
  /** The model's detections; empty on frames it did not run on. */
  readonly detections: readonly Detection[];
  /** Milliseconds the model took, on inferred frames. */
  readonly modelMs?: number;
}

export interface FrameSelection {
  /** Infer the first frame and every `every`-th after it (`--every`). */
  every?: number;
  /** Infer at most this many frames per second of video time (`--max-fps`). */
  maxFps?: number;
}

/**
 * `--every` and `--max-fps` as a predicate over frames in order. The rate limit keeps a schedule of due times one
 * interval apart rather than measuring from the last inferred frame: at 25 fps with `--max-fps 10` that infers
 * 10 frames a second (frames 0, 3, 5, 8, 10, …), where "at least 0.1 s since the last" would give 8.3.
 */
export function frameSelector(selection: FrameSelection = {}): (frame: { index: number; pts: number }) => boolean {
  const every = selection.every ?? 1;
  const { maxFps } = selection;
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`every must be an integer >= 1, got ${every}`);
  if (maxFps !== undefined && !(maxFps > 0 && Number.isFinite(maxFps))) throw new RangeError(`maxFps must be a number > 0, got ${maxFps}`);
  let firstIndex: number | undefined;
  let due: number | undefined;
  return (frame) => {
    firstIndex ??= frame.index;
    if ((frame.index - firstIndex) % every !== 0) return false;
    if (maxFps === undefined) return true;
    const interval = 1 / maxFps;
    // A millionth of a second of slack: pts come from rational time bases and 0.1 + 0.2 is not 0.3.
    if (due !== undefined && frame.pts < due - 1e-6) return false;
    // After a gap (a seek, a reconnect) the schedule restarts from this frame instead of bursting to catch up.
    due = due === undefined || frame.pts - due >= interval ? frame.pts + interval : due + interval;
    return true;
  };
}

export interface ScheduleOptions<F extends SchedulableFrame> {
  workers: InferenceService;
  mode: 'file' | 'live';
  /** Which frames are worth inferring (see `frameSelector`). Default: all. */
  select?: (frame: F) => boolean;
  /** Frames in a worker's hands at once in `file` mode (default 2: double buffering). `live` always uses 1. */
  depth?: number;
  /** `live`: a frame older than this (since decode) is not started. */
  maxLatencyMs?: number;
  now?: () => number;
}

type EntryState = 'skip' | 'wait' | 'run' | 'done';

interface Entry<F> {
  frame: F;
  state: EntryState;
  detections: readonly Detection[];
  modelMs?: number;
}

function modelImage(frame: LendableFrame): ModelImage {
  const { width, height } = frame;
  const data = frame.lend();
  return frame.format === 'rgba' ? { width, height, format: 'rgba', data } : { width, height, format: 'yuv420p', data };
}

/** Runs the model on the frames the policy picks (see the module comment); emits every frame, in order. */
export function inferFrames<F extends SchedulableFrame>(options: ScheduleOptions<F>): OperatorFunction<F, InferredFrame<F>> {
  const { workers, mode } = options;
  const depth = mode === 'live' ? 1 : (options.depth ?? 2);
  const select = options.select ?? (() => true);
  const now = options.now ?? (() => performance.now());
  const maxLatency = options.maxLatencyMs ?? Infinity;
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`depth must be an integer >= 1, got ${depth}`);

  return (source) =>
    new Observable<InferredFrame<F>>((subscriber) => {
      const queue: Entry<F>[] = [];
      let sourceDone = false;
      let stopped = false;

      const stop = (error?: unknown): void => {
        if (stopped) return;
        stopped = true;
        // Frames with a worker come back to `giveBack`, which then releases them.
        for (const entry of queue.splice(0)) entry.frame.release();
        if (error !== undefined) subscriber.error(error);
      };

      const flush = (): void => {
        while (!stopped && queue.length > 0 && (queue[0].state === 'skip' || queue[0].state === 'done')) {
          const entry = queue.shift() as Entry<F>;
          const inferred = entry.state === 'done';
          subscriber.next({
            frame: entry.frame,
            inferred,
            detections: entry.detections,
            ...(entry.modelMs !== undefined ? { modelMs: entry.modelMs } : {}),
          });
        }
        if (!stopped && sourceDone && queue.length === 0) {
          stopped = true;
          subscriber.complete();
        }
      };

      const start = (entry: Entry<F>): void => {
        entry.state = 'run';
        workers.submit(modelImage(entry.frame)).then(
          (result) => {
            entry.frame.giveBack(result.image.data as Uint8Array);
            if (stopped) return;
            entry.state = 'done';
            entry.detections = result.detections;
            entry.modelMs = result.milliseconds;
            dispatch();
            flush();
          },
          (error: unknown) => stop(error),
        );
      };

      const dispatch = (): void => {
        if (mode === 'file') {
          for (const entry of queue) {
            if (!workers.canTake(depth)) return;
            if (entry.state === 'wait') start(entry);
          }
          return;
        }
        // live: only the newest waiting frame is a candidate; the ones before it lost their turn.
        let newest: Entry<F> | undefined;
        for (const entry of queue) {
          if (entry.state !== 'wait') continue;
          if (newest) newest.state = 'skip';
          newest = entry;
        }
        if (!newest) return;
        if (now() - newest.frame.decodedAt > maxLatency) newest.state = 'skip';
        else if (workers.canTake(depth)) start(newest);
      };

      const subscription = source.subscribe({
        next: (frame) => {
          if (stopped) {
            frame.release();
            return;
          }
          let wanted: boolean;
          try {
            wanted = select(frame);
          } catch (error) {
            frame.release();
            stop(error);
            return;
          }
          queue.push({ frame, state: wanted ? 'wait' : 'skip', detections: [] });
          dispatch();
          flush();
        },
        error: (error: unknown) => stop(error),
        complete: () => {
          sourceDone = true;
          dispatch();
          flush();
        },
      });
      return () => {
        subscription.unsubscribe();
        stop();
      };
    });
}
