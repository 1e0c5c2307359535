import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { binaryEnv, resolveBinary } from './binaries';
import { parseDecoderLine } from './ffmpeg-log';
import type { PixelFormat } from './frame';
import type { FramePool } from './frame-pool';
import { dumpHeader, parseRotationLine, parseVideoStreamLine, swapsSides, type DumpedVideoStream } from './input-dump';
import { RawFrameSocket, rawFrameSocketPath } from './raw-frame-socket';

/**
 * ffmpeg prints a stream's side data (its rotation) right after the stream's line, but nothing marks the end of the
 * dump until the output is open, which needs us connected: a short quiet spell is the end.
 */
const DUMP_SETTLE_MS = 50;

export interface SegmentSpec {
  source: string;
  inputFormat?: string;
  inputOptions: readonly string[];
  /** Seconds of input ffmpeg may read to describe the streams (`-analyzeduration`). */
  probeSeconds: number;
  /** Frame size to scale to; a side left out keeps the source's. */
  scale: { width?: number; height?: number };
  pixelFormat: PixelFormat;
  whenFull: 'wait' | 'drop';
  /** Piped into ffmpeg's stdin when the source is '-'; without it ffmpeg reads this process's stdin itself. */
  stdin?: NodeJS.ReadableStream;
}

export interface SegmentGeometry {
  /** The source's size as displayed (after autorotation), before any scaling. */
  sourceWidth: number;
  sourceHeight: number;
  /** The size of the frames ffmpeg will write. */
  width: number;
  height: number;
  /** Nominal rate from the dump; undefined when the dump has none. */
  fps: number | undefined;
}

export interface SegmentOutcome {
  frames: number;
  /** One line saying why the run ended, when it did not end at the source's end. */
  failure?: string;
}

export interface SegmentHandlers {
  /** The input is open and described: returns the pool to receive frames into, or why the run cannot go on. */
  opened(geometry: SegmentGeometry): FramePool | string;
  /** The next decoded frame, in order; `buffer` is undefined for a frame dropped because the pool was empty. */
  frame(buffer: Uint8Array | undefined, containerSeconds: number | undefined): void;
  /** Not a property of the source but a mistake here (ffmpeg writes frames of another size than announced). */
  fatal(message: string): void;
  ended(outcome: SegmentOutcome): void;
}

/**
 * `demuxer ->`, `encoder <-`, ... (-debug_ts chatter) and ffmpeg's closing words: never the reason a run ended,
 * which ffmpeg prints just before them.
 */
function isNoise(line: string): boolean {
  return /^(demuxer|decoder|filter|encoder|muxer)\S* (->|<-)|^(Conversion failed!|Exiting normally)/.test(line);
}

export function segmentArgs(spec: SegmentSpec, socketPath: string): string[] {
  const { width, height } = spec.scale;
  const scale = width !== undefined || height !== undefined ? ['-vf', `scale=${width ?? 'iw'}:${height ?? 'ih'}`] : [];
  return [
    '-hide_banner',
    '-nostats',
    ...(spec.source === '-' ? [] : ['-nostdin']),
    // Timestamps as the container has them, logged per decoded frame: see decode.ts.
    '-debug_ts',
    '-copyts',
    // MPEG-TS declares no header, so ffmpeg reads the whole analyze duration (5 s by default) of a live stream
    // before its first frame. Before the caller's options, so that theirs win.
    '-analyzeduration',
    String(Math.round(spec.probeSeconds * 1e6)),
    ...(spec.inputFormat !== undefined ? ['-f', spec.inputFormat] : []),
    ...spec.inputOptions,
    '-i',
    spec.source,
    ...['-map', '0:v:0', '-an', '-sn', '-dn', '-vsync', 'passthrough', ...scale, '-pix_fmt', spec.pixelFormat],
    ...['-f', 'rawvideo', '-listen', '1', `unix:${socketPath}`],
  ];
}

function autorotates(inputOptions: readonly string[]): boolean {
  const at = inputOptions.lastIndexOf('-autorotate');
  return !inputOptions.includes('-noautorotate') && !(at >= 0 && /^(0|false)$/.test(inputOptions[at + 1] ?? ''));
}

/**
 * One ffmpeg run over a live source: it reads its own input dump for the stream's size and rate, then connects to
 * the raw-frame socket and pairs frames with their logged timestamps, as decode() does. Ends (once) when both the
 * process and the frame stream are over; `kill` ends it early.
 */
export class LiveSegment {
  readonly startedAt = performance.now();
  /** `performance.now()` of the last frame, kept or dropped. */
  lastFrameAt = this.startedAt;
  frames = 0;
  private readonly socketPath = rawFrameSocketPath();
  private readonly child: ChildProcess;
  private readonly lines: Interface;
  private reader: RawFrameSocket | undefined;
  private pool: FramePool | undefined;
  private section: 'input' | 'output' | 'other' = 'other';
  private stream: DumpedVideoStream | undefined;
  private rotation = 0;
  private geometry: SegmentGeometry | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private readonly arrived: (Uint8Array | undefined)[] = [];
  private readonly timestamps: (number | undefined)[] = [];
  private processEnded = false;
  private outputEnded = false;
  private exitFailure: string | undefined;
  private killReason: string | undefined;
  private lastLine: string | undefined;
  private closed = false;

  constructor(
    private readonly spec: SegmentSpec,
    private readonly handlers: SegmentHandlers,
  ) {
    const ffmpeg = resolveBinary('ffmpeg');
    this.child = spawn(ffmpeg.path, segmentArgs(spec, this.socketPath), {
      env: binaryEnv(ffmpeg),
      stdio: [spec.stdin ? 'pipe' : spec.source === '-' ? 'inherit' : 'ignore', 'ignore', 'pipe'],
    });
    if (spec.stdin && this.child.stdin) {
      // ffmpeg may exit before its input ends (killed, or a bad stream): that EPIPE is not ours to report.
      this.child.stdin.on('error', () => undefined);
      spec.stdin.pipe(this.child.stdin);
    }
    this.lines = createInterface({ input: this.child.stderr as NodeJS.ReadableStream, crlfDelay: Infinity });
    this.lines.on('line', (line) => this.onLine(line));
    this.child.on('error', (error) => this.onExit(error.message));
    this.child.on('close', (code, signal) => this.onExit(code === 0 ? undefined : `ffmpeg exited with ${code ?? signal}`));
  }

  /** End the run now; `reason` becomes its failure. The segment still reports `ended` once ffmpeg is gone. */
  kill(reason: string): void {
    this.killReason ??= reason;
    this.child.kill('SIGKILL');
  }

  /** Release everything without reporting: the session is over. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.settleTimer);
    this.child.kill('SIGKILL');
    if (this.spec.stdin && this.child.stdin) {
      this.spec.stdin.unpipe(this.child.stdin);
      this.child.stdin.destroy();
    }
    this.lines.close();
    this.reader?.close();
    for (const buffer of this.arrived.splice(0)) if (buffer) this.pool?.release(buffer);
    // ffmpeg creates the socket file when it starts listening, whether or not anyone connected.
    rmSync(this.socketPath, { force: true });
  }

  private onLine(line: string): void {
    if (this.closed) return;
    const decoded = parseDecoderLine(line);
    if (decoded) {
      this.timestamps.push(decoded.pts !== undefined ? (decoded.pts * decoded.timeBase.num) / decoded.timeBase.den : undefined);
      this.pair();
      return;
    }
    const text = line.replace(/^\[[^\]]*\]\s*/, '').trim();
    if (text !== '' && !isNoise(text)) this.lastLine = text;
    const header = dumpHeader(line);
    if (header) {
      if (this.stream && !this.geometry) this.describe();
      this.section = header === 'input' && line.startsWith('Input #0,') ? 'input' : header === 'output' ? 'output' : 'other';
      return;
    }
    if (this.section === 'input') this.onInputDumpLine(line);
    else if (this.section === 'output') this.onOutputDumpLine(line);
  }

  private onInputDumpLine(line: string): void {
    if (this.geometry) return;
    if (!this.stream) {
      this.stream = parseVideoStreamLine(line);
    } else if (/^\s*Stream #/.test(line)) {
      // The next stream: the video stream's own lines are over.
      this.describe();
      return;
    } else {
      this.rotation = parseRotationLine(line) ?? this.rotation;
    }
    if (this.stream) {
      clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.describe(), DUMP_SETTLE_MS);
    }
  }

  /** The output's dump states the frame size ffmpeg settled on: frames of another size would be misread. */
  private onOutputDumpLine(line: string): void {
    const written = parseVideoStreamLine(line);
    if (!written || !this.geometry) return;
    if (written.width !== this.geometry.width || written.height !== this.geometry.height) {
      const { width, height } = this.geometry;
      this.handlers.fatal(`ffmpeg writes ${written.width}x${written.height} frames where ${width}x${height} were expected`);
    }
  }

  private describe(): void {
    clearTimeout(this.settleTimer);
    if (this.closed || this.geometry || !this.stream) return;
    const swap = autorotates(this.spec.inputOptions) && swapsSides(this.rotation);
    const sourceWidth = swap ? this.stream.height : this.stream.width;
    const sourceHeight = swap ? this.stream.width : this.stream.height;
    const { width, height } = this.spec.scale;
    this.geometry = { sourceWidth, sourceHeight, width: width ?? sourceWidth, height: height ?? sourceHeight, fps: this.stream.fps };
    const pool = this.handlers.opened(this.geometry);
    if (typeof pool === 'string') {
      this.kill(pool);
      return;
    }
    this.pool = pool;
    this.connect(pool);
  }

  private connect(pool: FramePool): void {
    this.reader = new RawFrameSocket(
      this.socketPath,
      pool,
      {
        frame: (buffer) => this.arrive(buffer),
        dropped: () => this.arrive(undefined),
        end: () => this.onOutputEnd(),
        // The socket breaks when ffmpeg dies; ffmpeg's own last words say why.
        error: () => this.onOutputEnd(),
        shouldRetry: () => !this.closed && !this.processEnded,
      },
      { whenFull: this.spec.whenFull },
    );
    this.reader.connect();
  }

  private arrive(buffer: Uint8Array | undefined): void {
    this.lastFrameAt = performance.now();
    this.arrived.push(buffer);
    this.pair();
  }

  /** Frames are logged in the order they are written, so pixels and timestamps pair up in order. */
  private pair(): void {
    while (!this.closed && this.arrived.length > 0 && this.timestamps.length > 0) {
      const buffer = this.arrived.shift();
      const seconds = this.timestamps.shift();
      this.frames += 1;
      this.handlers.frame(buffer, seconds);
    }
  }

  private onOutputEnd(): void {
    this.outputEnded = true;
    this.maybeEnd();
  }

  private onExit(failure: string | undefined): void {
    if (this.processEnded) return;
    this.processEnded = true;
    this.exitFailure = failure;
    clearTimeout(this.settleTimer);
    if (!this.reader?.connected) this.outputEnded = true;
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.closed || !this.processEnded || !this.outputEnded) return;
    const failure = this.killReason ?? (this.exitFailure !== undefined ? this.failureLine() : undefined);
    const frames = this.frames;
    this.close();
    this.handlers.ended(failure !== undefined ? { frames, failure } : { frames });
  }

  private failureLine(): string {
    const line = this.lastLine ?? (this.exitFailure as string);
    // ffmpeg prefixes the input's name ("tcp://host:port: Connection refused"), and calls stdin "pipe:".
    const name = this.spec.source === '-' ? 'pipe:' : this.spec.source;
    return line.startsWith(`${name}: `) ? line.slice(name.length + 2) : line;
  }
}
