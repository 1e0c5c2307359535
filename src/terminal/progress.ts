import type { Throughput } from '../stats/throughput';

export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/**
 * Frames, rate and ETA on stderr: a bar redrawn in place on a terminal, a plain line every few seconds otherwise
 * (logs and CI), so that neither fills with carriage returns nor stays silent.
 */
export class ProgressReporter {
  private lastDraw = -Infinity;
  private drawn = false;
  private finished = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly throughput: Throughput,
    private readonly total: number | undefined,
    private readonly intervalSeconds = 5,
    private readonly now: () => number = () => performance.now(),
  ) {
    // Plain lines start after one interval: a line at frame 1 says nothing about rate or time left.
    if (!sink.isTTY) this.lastDraw = this.now();
  }

  private line(): string {
    const done = this.throughput.frames;
    const fps = this.throughput.fps;
    const rate = `${fps.toFixed(1)} fps`;
    const elapsed = formatDuration(this.throughput.elapsed);
    if (this.total === undefined || this.total <= 0) return `${done} frames  ${rate}  ${elapsed}`;
    const share = Math.min(1, done / this.total);
    const eta = fps > 0 ? formatDuration((this.total - done) / fps) : '--:--';
    return `${done}/${this.total} frames ${(share * 100).toFixed(0).padStart(3)}%  ${rate}  ${elapsed} ETA ${eta}`;
  }

  private bar(): string {
    const text = this.line();
    if (this.total === undefined || this.total <= 0) return text;
    const width = Math.max(10, Math.min(40, (this.sink.columns ?? 80) - text.length - 4));
    const filled = Math.round(Math.min(1, this.throughput.frames / this.total) * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
  }

  /** Call once per finished frame; draws at most 10 times a second on a terminal. */
  update(): void {
    if (this.finished) return;
    const now = this.now();
    const interval = this.sink.isTTY ? 100 : this.intervalSeconds * 1000;
    if (now - this.lastDraw < interval) return;
    this.lastDraw = now;
    this.draw();
  }

  private draw(): void {
    if (this.sink.isTTY) {
      this.sink.write(`\r${this.bar()}\x1b[K`);
      this.drawn = true;
    } else {
      this.sink.write(`${this.line()}\n`);
    }
  }

  /** Final state, and leave the cursor on a fresh line. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.sink.isTTY) {
      this.draw();
      if (this.drawn) this.sink.write('\n');
    }
  }
}
