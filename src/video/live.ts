import { existsSync, statSync } from 'node:fs';
import { Observable, type Subscriber } from 'rxjs';
import { UserError } from '../errors';
import type { DecodedFrame } from './decode';
import { frameByteLength, pooledFrame, type PixelFormat } from './frame';
import { FramePool } from './frame-pool';
import { LiveClock } from './live-clock';
import { LiveSegment, type SegmentGeometry, type SegmentOutcome, type SegmentSpec } from './live-segment';
import { isUrl } from './probe';

export interface LiveSourceOptions {
  /** ffmpeg input format, passed as `-f` before `-i` (e.g. 'v4l2' for a camera, 'mpegts' for a bare pipe). */
  inputFormat?: string;
  /** Further ffmpeg options before `-i` (e.g. ['-video_size', '1280x720'] for a camera). They win over ours. */
  inputOptions?: string[];
  /** Scale frames to this size; a side left out keeps the source's. */
  width?: number;
  height?: number;
  /** Pixel layout of the frames (default yuv420p). */
  pixelFormat?: PixelFormat;
  /** How many frames may be alive downstream at once (default 8)... */
  poolSize?: number;
  /** ...or as many as fit in this many bytes, counted once the frame size is known (wins over `poolSize`). */
  bufferBytes?: number;
  /**
   * When all `poolSize` frames are out: 'drop' (default) reads on and discards frames, counted in the next frame's
   * `dropped`; 'wait' stops reading, so ffmpeg blocks (the default for a regular file, which has no real time).
   */
  whenFull?: 'wait' | 'drop';
  /** Seconds of input ffmpeg reads to describe the stream before its first frame (default 1). */
  probeSeconds?: number;
  /**
   * Start ffmpeg again when it ends or stalls. Default: true for URLs, devices and FIFOs; false for '-', regular
   * files and paths that do not exist outside /dev (a typo should fail at once, a camera may be plugged in later).
   */
  reconnect?: boolean;
  /** With reconnect: seconds a run may take to its first frame (default 10). */
  openSeconds?: number;
  /** With reconnect: seconds without a frame after which a run counts as stalled and is restarted (default 5). */
  stallSeconds?: number;
  /** Delay before the first reconnection attempt, doubled after each that brings no frame (default 0.5). */
  initialDelaySeconds?: number;
  maxDelaySeconds?: number;
  /** With reconnect: seconds without any frame after which the session ends (default 60). */
  giveUpSeconds?: number;
  /**
   * What ffmpeg reads when the source is '-', piped through this process. Without it ffmpeg inherits this process's
   * stdin and reads it directly, which is what a CLI wants; tests pass a stream.
   */
  stdin?: NodeJS.ReadableStream;
  onEvent?: (event: LiveEvent) => void;
}

export type LiveEvent =
  /** An ffmpeg run opened the source; `segment` counts the runs that did, from 0. */
  | { type: 'opened'; segment: number; width: number; height: number; fps: number }
  /** Something worth a line in the log that changes nothing (an assumed rate, a rescaled source). */
  | { type: 'note'; message: string }
  /** A run ended: `reason` is one line (ffmpeg's last words, "no frame for 5 s", "end of stream"). */
  | { type: 'lost'; reason: string }
  | { type: 'retry'; attempt: number; delaySeconds: number }
  | { type: 'gave-up'; seconds: number };

export interface LiveFrame extends DecodedFrame {
  /** Which ffmpeg run (counting the runs that opened the source, from 0) decoded the frame. */
  readonly segment: number;
  /** On the first frame after a reconnection or a break in the timestamps: pts distance to the previous frame. */
  readonly gapSeconds?: number;
  /** Frames discarded since the previous frame because the consumer held every buffer. */
  readonly dropped?: number;
}

const DEFAULT_FPS = 25;

/** Sources that are read as they happen: network streams, capture devices, stdin. */
export function isLiveSource(source: string): boolean {
  return source === '-' || source.startsWith('/dev/') || /^(rtsps?|rtmps?|rtp|udp|tcp|https?|srt):\/\//i.test(source);
}

function isRegularFile(source: string): boolean {
  try {
    return statSync(source).isFile();
  } catch {
    return false;
  }
}

function reconnectsByDefault(source: string): boolean {
  if (source === '-' || isRegularFile(source)) return false;
  return isUrl(source) || isLiveSource(source) || existsSync(source);
}

/**
 * Frames from a live source. Unlike decode(), nothing is probed beforehand (that would consume the stream): each
 * ffmpeg run describes the source in its own log. Runs that end or stall are restarted with exponential backoff;
 * index and pts continue across them (see LiveClock). The session completes at the source's end when reconnect is
 * off, and on giving up after `giveUpSeconds` without frames when it is on, unless no frame ever came: then it
 * errors with a UserError saying why (a mistyped address should not look like a finished stream).
 *
 * Each ffmpeg process lives from its start to the session's end at the latest: unsubscribing kills it.
 */
export function liveFrames(source: string, options: LiveSourceOptions = {}): Observable<LiveFrame> {
  return new Observable<LiveFrame>((subscriber) => {
    const session = new LiveSession(source, options, subscriber);
    session.start();
    return () => session.close();
  });
}

class LiveSession {
  private readonly clock = new LiveClock();
  /** How messages name the source. */
  private readonly label: string;
  private readonly reconnect: boolean;
  private readonly whenFull: 'wait' | 'drop';
  private readonly initialDelay: number;
  private delay: number;
  private attempt = 0;
  private pool: FramePool | undefined;
  /** The session's frame size, settled by the first run that opens; later runs scale to it. */
  private size: { width: number; height: number } | undefined;
  private sourceSize: { width: number; height: number } | undefined;
  private segment: LiveSegment | undefined;
  private segmentNumber = -1;
  private dropped = 0;
  private anyFrame = false;
  /** `performance.now()` of the last frame, or of the start: what giving up counts from. */
  private lastProgress = performance.now();
  private lastFailure: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly source: string,
    private readonly options: LiveSourceOptions,
    private readonly subscriber: Subscriber<LiveFrame>,
  ) {
    this.label = source === '-' ? 'stdin' : source;
    this.reconnect = options.reconnect ?? reconnectsByDefault(source);
    this.whenFull = options.whenFull ?? (source !== '-' && isRegularFile(source) ? 'wait' : 'drop');
    this.initialDelay = options.initialDelaySeconds ?? 0.5;
    this.delay = this.initialDelay;
  }

  start(): void {
    if (this.reconnect) this.watchdog = setInterval(() => this.watch(), 100);
    this.startSegment();
  }

  close(): void {
    this.finished = true;
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    this.segment?.close();
    this.segment = undefined;
  }

  private emit(event: LiveEvent): void {
    this.options.onEvent?.(event);
  }

  private finish(error?: Error): void {
    if (this.finished) return;
    this.close();
    if (error) this.subscriber.error(error);
    else this.subscriber.complete();
  }

  private startSegment(): void {
    const spec: SegmentSpec = {
      source: this.source,
      inputOptions: this.options.inputOptions ?? [],
      probeSeconds: this.options.probeSeconds ?? 1,
      // Later runs are scaled to the first run's size: whatever consumes the frames (an encoder) cannot change size.
      scale: this.size ?? { width: this.options.width, height: this.options.height },
      pixelFormat: this.options.pixelFormat ?? 'yuv420p',
      whenFull: this.whenFull,
      ...(this.options.inputFormat !== undefined ? { inputFormat: this.options.inputFormat } : {}),
      ...(this.options.stdin && this.source === '-' ? { stdin: this.options.stdin } : {}),
    };
    // Callbacks of a run that has been replaced or cancelled change nothing (they are only called asynchronously).
    const current = (): boolean => !this.finished && this.segment === segment;
    const segment: LiveSegment = new LiveSegment(spec, {
      opened: (geometry) => (current() ? this.opened(geometry) : 'session over'),
      frame: (buffer, seconds) => {
        if (current()) this.frame(buffer, seconds);
        else if (buffer) this.pool?.release(buffer);
      },
      fatal: (message) => {
        if (current()) this.finish(new UserError(`${this.label}: ${message}`));
      },
      ended: (outcome) => {
        if (current()) this.ended(outcome);
      },
    });
    this.segment = segment;
  }

  private opened(geometry: SegmentGeometry): FramePool | string {
    const fps = geometry.fps ?? DEFAULT_FPS;
    if (geometry.fps === undefined) this.emit({ type: 'note', message: `${this.label}: no frame rate in the stream, assuming ${DEFAULT_FPS} fps` });
    this.noteResize(geometry);
    this.size ??= { width: geometry.width, height: geometry.height };
    const { width, height } = this.size;
    if (geometry.width !== width || geometry.height !== height) return `frames are ${geometry.width}x${geometry.height}, not ${width}x${height}`;
    const frameBytes = frameByteLength(width, height, this.options.pixelFormat ?? 'yuv420p');
    const { bufferBytes } = this.options;
    this.pool ??= new FramePool(bufferBytes !== undefined ? Math.max(4, Math.floor(bufferBytes / frameBytes)) : (this.options.poolSize ?? 8), frameBytes);
    this.segmentNumber += 1;
    this.clock.startSegment(fps);
    this.emit({ type: 'opened', segment: this.segmentNumber, width, height, fps });
    return this.pool;
  }

  private noteResize(geometry: SegmentGeometry): void {
    const before = this.sourceSize;
    this.sourceSize = { width: geometry.sourceWidth, height: geometry.sourceHeight };
    if (!before || (before.width === geometry.sourceWidth && before.height === geometry.sourceHeight)) return;
    const to = this.size ? ` (scaled to ${this.size.width}x${this.size.height})` : '';
    this.emit({ type: 'note', message: `${this.label}: size changed from ${before.width}x${before.height} to ${geometry.sourceWidth}x${geometry.sourceHeight}${to}` });
  }

  private frame(buffer: Uint8Array | undefined, containerSeconds: number | undefined): void {
    const now = performance.now();
    this.lastProgress = now;
    this.anyFrame = true;
    this.delay = this.initialDelay;
    this.attempt = 0;
    const { index, pts } = this.clock.stamp(containerSeconds, now);
    if (!buffer) {
      this.dropped += 1;
      return;
    }
    const pool = this.pool as FramePool;
    const size = this.size as { width: number; height: number };
    const gapSeconds = this.clock.emitted(pts);
    const fields = {
      index,
      pts,
      width: size.width,
      height: size.height,
      format: this.options.pixelFormat ?? 'yuv420p',
      decodedAt: now,
      segment: this.segmentNumber,
      ...(gapSeconds !== undefined ? { gapSeconds } : {}),
      ...(this.dropped > 0 ? { dropped: this.dropped } : {}),
    };
    this.dropped = 0;
    this.subscriber.next(pooledFrame(fields, buffer, (b) => pool.release(b)));
  }

  private ended(outcome: SegmentOutcome): void {
    this.segment = undefined;
    if (outcome.failure !== undefined) this.lastFailure = outcome.failure;
    if (!this.reconnect) {
      // Without frames a failure is the answer (a missing file, garbage on stdin); after frames, the source is over.
      if (outcome.failure !== undefined && !this.anyFrame) this.finish(new UserError(`${this.label}: ${outcome.failure}`));
      else this.finish();
      return;
    }
    this.emit({ type: 'lost', reason: outcome.failure ?? 'end of stream' });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delaySeconds = this.delay;
    this.attempt += 1;
    this.delay = Math.min(this.delay * 2, this.options.maxDelaySeconds ?? 8);
    this.emit({ type: 'retry', attempt: this.attempt, delaySeconds });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.finished) this.startSegment();
    }, delaySeconds * 1000);
  }

  /** Stalls and giving up are noticed by time, not by an event: a dead UDP feed or camera just goes quiet. */
  private watch(): void {
    const now = performance.now();
    const giveUpSeconds = this.options.giveUpSeconds ?? 60;
    if (now - this.lastProgress >= giveUpSeconds * 1000) {
      this.giveUp((now - this.lastProgress) / 1000);
      return;
    }
    const segment = this.segment;
    if (!segment) return;
    const openSeconds = this.options.openSeconds ?? 10;
    const stallSeconds = this.options.stallSeconds ?? 5;
    if (segment.frames === 0 && now - segment.startedAt >= openSeconds * 1000) segment.kill(`no frame within ${openSeconds} s`);
    else if (segment.frames > 0 && now - segment.lastFrameAt >= stallSeconds * 1000) segment.kill(`no frame for ${stallSeconds} s`);
  }

  private giveUp(seconds: number): void {
    this.emit({ type: 'gave-up', seconds: Math.round(seconds * 10) / 10 });
    if (this.anyFrame) {
      this.finish();
      return;
    }
    const why = this.lastFailure !== undefined ? `: ${this.lastFailure}` : '';
    this.finish(new UserError(`${this.label}: no video after ${Math.round(seconds)} s of trying${why}`));
  }
}
