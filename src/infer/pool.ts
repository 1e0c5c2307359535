import type { ModelImage } from './protocol';
import { InferenceWorker, type InferenceResult, type InferenceWorkerOptions } from './worker';

/** `workers`: how many, by default as `resourceSplit` says for the backend the first worker chose. */
export type InferencePoolOptions = InferenceWorkerOptions;

/**
 * Several inference workers behind one `submit`: each image goes to the worker with the fewest images in hand.
 * The pool counts what it has sent each worker itself, so a scheduler asking `idle`/`canTake` sees the state it
 * caused, not one a message late.
 */
export class InferencePool {
  private readonly load: number[];
  /** Each worker's live tensor count after its latest image (-1 before the first). */
  readonly tensorCounts: number[];

  private constructor(private readonly workers: InferenceWorker[]) {
    this.load = workers.map(() => 0);
    this.tensorCounts = workers.map(() => -1);
  }

  /**
   * Starts the first worker, learns the backend it chose, then the others (when `workers` is not given, how many
   * depends on that backend).
   */
  static async start(options: InferencePoolOptions): Promise<InferencePool> {
    if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers >= 1)) {
      throw new RangeError(`workers must be an integer >= 1, got ${options.workers}`);
    }
    const first = await InferenceWorker.start(options);
    const count = first.split.workers;
    const others = await Promise.allSettled(Array.from({ length: count - 1 }, () => InferenceWorker.start(options)));
    const started = [first, ...others.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))];
    const failed = others.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((worker) => worker.close()));
      throw failed.reason;
    }
    return new InferencePool(started);
  }

  get size(): number {
    return this.workers.length;
  }

  /** The backend in use and why (the same in every worker). */
  get backend(): string {
    return this.workers[0].backend;
  }

  /** Intra-op threads per worker (ONNX backends), for the log. */
  get threads(): number | undefined {
    return this.workers[0].split.threads;
  }

  get labels(): string[] {
    return this.workers[0].labels;
  }

  /** Images sent and not answered yet, over all workers. */
  get inFlight(): number {
    return this.load.reduce((a, b) => a + b, 0);
  }

  /** Whether some worker holds fewer than `depth` images. */
  canTake(depth: number): boolean {
    return this.load.some((n) => n < depth);
  }

  /** Runs the model on `image`, whose buffer moves to the worker until the result brings it back. */
  submit(image: ModelImage): Promise<InferenceResult> {
    let chosen = 0;
    for (let w = 1; w < this.load.length; w++) if (this.load[w] < this.load[chosen]) chosen = w;
    this.load[chosen]++;
    const done = (): void => {
      this.load[chosen]--;
    };
    const result = this.workers[chosen].detect(image);
    result.then((r) => {
      this.tensorCounts[chosen] = r.tensors;
      done();
    }, done);
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}
