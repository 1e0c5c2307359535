/**
 * Numbers and timestamps the frames of a live session, which may span several ffmpeg runs (segments) and whose
 * container timestamps may restart, wrap or jump. pts are seconds since the session's first frame and strictly
 * increase; within a stretch of well-behaved container timestamps they follow those exactly (jitter-free), and
 * wherever the container's clock cannot be trusted (a new segment, a discontinuity) the wall clock takes over.
 */

/** A container timestamp step larger than this (or any step back) is a discontinuity, not the stream's clock. */
const MAX_STEP_SECONDS = 1;
/** A discontinuity that leaves more than this between two frames is reported as a gap. */
export const GAP_SECONDS = 1;

export interface Stamp {
  /** Decoded frame number in the session, dropped frames included. */
  index: number;
  pts: number;
}

export class LiveClock {
  private nextIndex = 0;
  /** `performance.now()` of the session's first frame. */
  private origin: number | undefined;
  private lastPts: number | undefined;
  private lastContainer: number | undefined;
  /** Where the current stretch of container timestamps starts: container seconds ↔ session pts. */
  private anchor: { container: number; pts: number } | undefined;
  private frameSeconds = 1 / 25;
  private lastEmittedPts: number | undefined;
  private gapPending = false;

  /** A new ffmpeg run: its timestamps have no relation to the previous run's. */
  startSegment(fps: number): void {
    this.frameSeconds = 1 / fps;
    this.anchor = undefined;
    this.lastContainer = undefined;
    if (this.lastPts !== undefined) this.gapPending = true;
  }

  /**
   * Stamp the next decoded frame. `container` is its container timestamp in seconds (undefined when it has none:
   * it is then taken to be one nominal frame after the previous), `now` the `performance.now()` it arrived at.
   */
  stamp(container: number | undefined, now: number): Stamp {
    const index = this.nextIndex;
    this.nextIndex += 1;
    const at = container ?? (this.lastContainer !== undefined ? this.lastContainer + this.frameSeconds : 0);
    const pts = this.ptsOf(at, now);
    this.lastContainer = at;
    this.lastPts = pts;
    return { index, pts };
  }

  /**
   * For a frame that is handed downstream: the pts distance to the previous frame handed downstream when a
   * reconnection or a discontinuity came between them (frames dropped in between do not hide the gap).
   */
  emitted(pts: number): number | undefined {
    const gap = this.gapPending && this.lastEmittedPts !== undefined ? pts - this.lastEmittedPts : undefined;
    this.gapPending = false;
    this.lastEmittedPts = pts;
    return gap;
  }

  private ptsOf(container: number, now: number): number {
    if (this.origin === undefined || this.lastPts === undefined) {
      this.origin = now;
      this.anchor = { container, pts: 0 };
      return 0;
    }
    const step = this.lastContainer !== undefined ? container - this.lastContainer : undefined;
    if (this.anchor && step !== undefined && step > 0 && step <= MAX_STEP_SECONDS) {
      return this.anchor.pts + (container - this.anchor.container);
    }
    // Wall-clock time since the first frame keeps pts close to real time across outages; one nominal frame after
    // the previous frame keeps them increasing when frames arrive in a burst (a reconnected feed's buffered start).
    const pts = Math.max((now - this.origin) / 1000, this.lastPts + this.frameSeconds);
    if (this.anchor && pts - this.lastPts > GAP_SECONDS) this.gapPending = true;
    this.anchor = { container, pts };
    return pts;
  }
}
