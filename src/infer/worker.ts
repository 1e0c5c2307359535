import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../errors';
import type { BackendName } from '../model/backend';
import type { Detection, DetectOptions } from '../model/mask-rcnn';
import { packageRoot } from '../paths';
import type { FromWorker, InferenceWorkerData, ModelImage, ToWorker } from './protocol';
import type { ResourceSplit, Workload } from './split';

export interface InferenceResult {
  detections: Detection[];
  /** The image that was sent, its buffer handed back for reuse. */
  image: ModelImage;
  /** Time the model took in the worker. */
  milliseconds: number;
  /** Tensors alive in the worker once this image was done. */
  tensors: number;
}

export interface InferenceWorkerOptions {
  modelDir: string;
  backend?: BackendName | 'auto';
  /** Intra-op threads of the worker's ONNX sessions (default: see `resourceSplit`). */
  threads?: number;
  /** What the defaults are chosen for: files (throughput, the default) or live sources (latency). */
  use?: Workload;
  /** How many workers the pool will run, when the user said: the default thread count depends on it. */
  workers?: number;
  minSize?: number;
  maxSize?: number;
  /** Which detections to compute masks for and return. */
  detect?: DetectOptions;
}

/** The compiled worker: workers cannot run TypeScript, so tests and the CLI alike use the built file. */
function workerScript(): string {
  return join(packageRoot(), 'dist', 'src', 'infer', 'worker-main.js');
}

/**
 * Mask R-CNN in a worker thread: the main thread keeps decoding, tracking and encoding while the model runs.
 * Images are transferred (their buffer moves to the worker and comes back with the result), never copied.
 * Requests are answered in order; several may be queued (the pipeline keeps at most two in flight per worker).
 */
export class InferenceWorker {
  private readonly waiters = new Map<number, { resolve: (result: InferenceResult) => void; reject: (error: Error) => void }>();
  private readonly inFlight = new Set<Promise<InferenceResult>>();
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    /** The backend in use and why, for the one line the CLI prints. */
    readonly backend: string,
    readonly backendName: BackendName,
    readonly labels: string[],
    /** The workers and threads this worker's backend calls for (its own thread count included). */
    readonly split: ResourceSplit,
  ) {
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => {
      if (!this.closed || this.waiters.size > 0) this.failAll(new Error(`inference worker exited (code ${code})`));
      this.closed = true;
    });
  }

  static start(options: InferenceWorkerOptions): Promise<InferenceWorker> {
    const workerData: InferenceWorkerData = {
      modelDir: options.modelDir,
      backend: options.backend ?? 'auto',
      use: options.use ?? 'frames',
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.minSize !== undefined ? { minSize: options.minSize } : {}),
      ...(options.maxSize !== undefined ? { maxSize: options.maxSize } : {}),
      ...(options.detect !== undefined ? { detect: options.detect } : {}),
    };
    const worker = new Worker(workerScript(), { workerData });
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromWorker): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        if (message.type === 'ready') {
          resolve(new InferenceWorker(worker, message.backend, message.backendName, message.labels, { workers: message.workers, threads: message.threads }));
        } else {
          void worker.terminate();
          reject(message.type === 'error' && message.userError ? new UserError(message.message) : new Error(message.type === 'error' ? message.message : 'inference worker failed to start'));
        }
      };
      const onError = (error: Error): void => {
        worker.off('message', onMessage);
        reject(error);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
  }

  /** Run the model on one image. Its buffer is transferred: do not touch `image.data` until the result is back. */
  detect(image: ModelImage): Promise<InferenceResult> {
    if (this.closed) return Promise.reject(new Error('inference worker is closed'));
    const id = this.nextId++;
    const result = new Promise<InferenceResult>((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      const message: ToWorker = { type: 'detect', id, image };
      this.worker.postMessage(message, [image.data.buffer as ArrayBuffer]);
    });
    this.inFlight.add(result);
    const forget = (): void => {
      this.inFlight.delete(result);
    };
    result.then(forget, forget);
    return result;
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.waiters.size;
  }

  private receive(message: FromWorker): void {
    if (message.type === 'ready') return;
    const { id } = message;
    if (id === undefined) {
      this.failAll(new Error(message.type === 'error' ? message.message : 'unexpected message'));
      return;
    }
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    if (message.type === 'result') {
      waiter.resolve({ detections: message.detections, image: message.image, milliseconds: message.milliseconds, tensors: message.tensors });
    } else {
      waiter.reject(message.userError ? new UserError(message.message) : new Error(message.message));
    }
  }

  private failAll(error: Error): void {
    for (const { reject } of this.waiters.values()) reject(error);
    this.waiters.clear();
  }

  /** Finish queued requests, free the model's tensors, end the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const close: ToWorker = { type: 'close' };
    this.worker.postMessage(close);
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
