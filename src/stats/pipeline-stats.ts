import { Throughput } from './throughput';

/** Nearest-rank percentile of `values` (sorted here), `p` in 0..100; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/**
 * What a run has done so far, for the HUD, the periodic stats lines and the closing summary: output rate, model
 * rate, share of frames inferred, latency from decode to output, instances and tracks seen.
 */
export class PipelineStats {
  readonly output: Throughput;
  inferred = 0;
  /** Frames the source delivered that were discarded unseen because the pipeline was full (live sources). */
  dropped = 0;
  /** Whether each of the last `window` frames was inferred. */
  private readonly recentInferred: boolean[] = [];
  instances = 0;
  private readonly trackIds = new Set<number>();
  /** Recent latencies (ms), for the HUD and stats lines; all of them, bucketed, for the summary's percentiles. */
  private readonly recentLatency: number[] = [];
  private readonly allLatency = new LatencyHistogram();

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly window = 30,
  ) {
    this.output = new Throughput(window, now);
  }

  /** Records one frame leaving the pipeline. */
  record(item: { inferred: boolean; instances: readonly { id: number | null }[]; frame: { decodedAt: number }; dropped?: number }): void {
    this.output.tick();
    if (item.inferred) this.inferred++;
    this.dropped += item.dropped ?? 0;
    this.recentInferred.push(item.inferred);
    if (this.recentInferred.length > this.window) this.recentInferred.shift();
    this.instances += item.instances.length;
    for (const instance of item.instances) if (instance.id !== null) this.trackIds.add(instance.id);
    const latency = this.now() - item.frame.decodedAt;
    this.recentLatency.push(latency);
    if (this.recentLatency.length > this.window) this.recentLatency.shift();
    this.allLatency.add(latency);
  }

  get frames(): number {
    return this.output.frames;
  }

  /**
   * Frames the model gets through per second, recently: the output rate times the recent share inferred. (Timing
   * inferred frames themselves would not do: they leave the pipeline in bursts, each waiting for the slowest one.)
   */
  get modelFps(): number {
    if (this.recentInferred.length === 0) return 0;
    return (this.output.fps * this.recentInferred.filter(Boolean).length) / this.recentInferred.length;
  }

  /** Share of frames the model ran on, 0..1. */
  get inferredShare(): number {
    return this.frames > 0 ? this.inferred / this.frames : 0;
  }

  /** Distinct track ids reported so far. */
  get tracks(): number {
    return this.trackIds.size;
  }

  /** Median latency of recent frames, ms. */
  get latencyMs(): number {
    return percentile(this.recentLatency, 50);
  }

  /** Latency percentile over the whole run, ms (within 1%). */
  latencyPercentile(p: number): number {
    return this.allLatency.percentile(p);
  }
}

/**
 * Latencies of a run of any length in constant memory: buckets 1% wide on a log scale (about 1,400 of them from
 * 1 ms to 20 minutes), so a percentile is off by at most 1%.
 */
export class LatencyHistogram {
  private static readonly GROWTH = Math.log(1.01);
  private readonly counts = new Map<number, number>();
  private total = 0;

  add(ms: number): void {
    const bucket = ms <= 1 ? 0 : Math.ceil(Math.log(ms) / LatencyHistogram.GROWTH);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /** The upper edge of the bucket holding the nearest-rank percentile `p` (0..100); NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.min(this.total, Math.max(1, Math.ceil((p / 100) * this.total)));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket) ?? 0;
      if (seen >= rank) return bucket === 0 ? 1 : Math.exp(bucket * LatencyHistogram.GROWTH);
    }
    return NaN;
  }
}
