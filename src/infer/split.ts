/**
 * How many inference workers, and how many threads each, when the user did not say. The worker computes its own
 * thread count with this as it loads the model, and the pool its worker count once the first worker says which
 * backend it chose, so both halves come from one rule.
 */
import { availableParallelism } from 'node:os';
import { BACKEND_SPECS, GPU_BACKENDS, type BackendName } from '../model/backend';

/** Files are read as fast as the model goes (throughput); live sources want each frame's result soon (latency). */
export type Workload = 'files' | 'live';

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
 * On a GPU, one worker (one thread keeps the device busy). On ONNX Runtime's CPU provider, files get one worker per
 * core with one thread each (no worker waits on a thread pool's hand-over, and two images overlap), live sources one
 * worker with every core (a frame's result comes back soonest); docs/benchmarks.md has the measurements. TF.js's
 * CPU backends run one thread per worker, so they get one worker per core.
 */
export function resourceSplit(backend: BackendName, request: SplitRequest, use: Workload, cores = availableParallelism()): ResourceSplit {
  const onnx = BACKEND_SPECS[backend].engine === 'onnx';
  if (GPU_BACKENDS.has(backend)) return { workers: request.workers ?? 1, threads: onnx ? request.threads : undefined };
  if (!onnx) return { workers: request.workers ?? Math.max(1, cores), threads: undefined };
  if (use === 'live') {
    const workers = request.workers ?? 1;
    return { workers, threads: request.threads ?? Math.max(1, Math.floor(cores / workers)) };
  }
  const threads = request.threads ?? 1;
  return { workers: request.workers ?? Math.max(1, Math.floor(cores / threads)), threads };
}
