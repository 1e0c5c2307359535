/**
 * Frames per second over a sliding window of recent frames: responsive to slow-downs without jittering from one
 * frame to the next.
 */
export class Throughput {
  private readonly times: number[] = [];
  private count = 0;
  private readonly startedAt: number;

  constructor(
    private readonly window = 30,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = this.now();
  }

  tick(): void {
    this.count += 1;
    this.times.push(this.now());
    if (this.times.length > this.window) this.times.shift();
  }

  get frames(): number {
    return this.count;
  }

  /** Seconds since construction. */
  get elapsed(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  /** Recent rate in frames per second; 0 until two frames have been seen. */
  get fps(): number {
    const first = this.times[0];
    const last = this.times[this.times.length - 1];
    if (first === undefined || last === undefined || last <= first) return 0;
    return ((this.times.length - 1) * 1000) / (last - first);
  }

  /** Rate over the whole run. */
  get averageFps(): number {
    return this.elapsed > 0 ? this.count / this.elapsed : 0;
  }
}
