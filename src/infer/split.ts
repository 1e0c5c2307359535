/**
 * How many inference workers, and how many threads each, when the user did not say. The worker computes its own
 * thread count with this as it loads the model, and the pool its worker count once the first worker says which
 * backend it chose, so both halves come from one rule.
 */
import { availableParallelism } from 'node:os';
import { BACKEND_SPECS, GPU_BACKENDS, type BackendName } from '../model/backend';

/**
 * `frames`: a video, file or live source, where the model takes as many frames as it can (throughput, within the
 * latency a live source allows); `images`: `detect`, one image at a time, each wanted soon (latency).
 */
export type Workload = 'frames' | 'images';

export interface ResourceSplit {
  workers: number;
  /** Intra-op threads of each worker's ONNX sessions; undefined on TF.js, whose backends set their own. */
  threads: number | undefined;
}

export interface SplitRequest {
  workers?: number | undefined;
  threads?: number | undefined;
}

/**
 * On a GPU, one worker (one thread keeps the device busy). On ONNX Runtime's CPU provider, videos get one worker per
 * core with one thread each: no worker waits on a thread pool's hand-over, and frames overlap. That holds for live
 * sources too: on 2 cores with the bundled model, 2 x 1 inferred 32% of a real-time feed's frames at 201 ms p50
 * latency, 1 x 2 25% at 117 ms; both are well inside a frame budget of 400 ms, and more frames inferred is better
 * tracking. `detect` gets one worker with every core: an image's result comes back soonest. docs/benchmarks.md has
 * the measurements. TF.js's CPU backends run one thread per worker, so they get one worker per core.
 */
export function resourceSplit(backend: BackendName, request: SplitRequest, use: Workload, cores = availableParallelism()): ResourceSplit {
  const onnx = BACKEND_SPECS[backend].engine === 'onnx';
  if (GPU_BACKENDS.has(backend)) return { workers: request.workers ?? 1, threads: onnx ? request.threads : undefined };
  if (!onnx) return { workers: request.workers ?? Math.max(1, cores), threads: undefined };
  if (use === 'images') {
    const workers = request.workers ?? 1;
    return { workers, threads: request.threads ?? Math.max(1, Math.floor(cores / workers)) };
  }
  const threads = request.threads ?? 1;
  return { workers: request.workers ?? Math.max(1, Math.floor(cores / threads)), threads };
}
