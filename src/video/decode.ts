import ffmpeg from 'fluent-ffmpeg';
import { Observable } from 'rxjs';
import { UserError } from '../errors';
import { resolveBinary } from './binaries';
import { isErrorLine, parseDecoderLine } from './ffmpeg-log';
import { frameByteLength, pooledFrame, type LendableFrame, type PixelFormat } from './frame';
import { FramePool } from './frame-pool';
import { RawFrameSocket, rawFrameSocketPath } from './raw-frame-socket';
import { lastErrorLine, type Rational, type VideoInfo } from './probe';

export interface DecodeOptions {
  /** Seconds from the start of the source at which to begin. */
  start?: number;
  /** Seconds to decode from `start`. */
  duration?: number;
  /** Scale frames to this size (ffmpeg's scaler) instead of the source size. */
  width?: number;
  height?: number;
  /**
   * How many decoded frames may be alive downstream at once. When all are out the decoder stops reading and
   * ffmpeg blocks on its pipe: memory stays bounded whatever the length of the input.
   */
  poolSize?: number;
  /** Pixel layout of the frames (default yuv420p: no colour conversion on the way through). */
  pixelFormat?: PixelFormat;
  /** Extra ffmpeg options before `-i` (e.g. ['-f', 'v4l2'] for capture devices). */
  inputOptions?: string[];
}

export interface DecodedFrame extends LendableFrame {
  /** `performance.now()` when the frame's last byte arrived: the start of its latency budget. */
  readonly decodedAt: number;
}

/** Half a frame: the tolerance when comparing timestamps against trim bounds. */
function halfFrame(info: VideoInfo): number {
  return 0.5 / info.fps;
}

function seconds(pts: number, timeBase: Rational): number {
  return (pts * timeBase.num) / timeBase.den;
}

/** Decoded frames in flight when `DecodeOptions.poolSize` is not given. */
export const DEFAULT_POOL_SIZE = 8;

/**
 * Decode a video into raw frames (yuv420p or RGBA). ffmpeg writes raw frames to a socket and, with `-debug_ts`,
 * logs each frame's container timestamp on stderr, which is how pts stays exact on variable-frame-rate input. The
 * two streams are paired in order, so a frame is emitted once both its pixels and its timestamp have arrived.
 *
 * The ffmpeg process starts on subscribe and is killed on unsubscribe.
 */
export function decode(info: VideoInfo, options: DecodeOptions = {}): Observable<DecodedFrame> {
  return new Observable<DecodedFrame>((subscriber) => {
    const width = options.width ?? info.width;
    const height = options.height ?? info.height;
    const format = options.pixelFormat ?? 'yuv420p';
    const byteLength = frameByteLength(width, height, format);
    const pool = new FramePool(options.poolSize ?? DEFAULT_POOL_SIZE, byteLength);
    const start = Math.max(0, options.start ?? 0);
    const firstPts = info.startTime + start;
    const endPts = options.duration !== undefined ? firstPts + options.duration : Infinity;
    // Seeking skips decoding what comes before `start`, but then frames can no longer be counted; on constant-rate
    // input the index follows from pts, on variable-rate input we decode from the beginning and count.
    const seek = start > 0 && !info.variableFrameRate;

    // -debug_ts logs each decoded frame's timestamp. Without accurate seeking, every decoded frame is output (the
    // frames before `start` are dropped here, by pts), so those log lines and the raw frames pair up one to one.
    const inputOptions = ['-debug_ts', '-copyts', ...(options.inputOptions ?? [])];
    if (info.source !== '-') inputOptions.unshift('-nostdin');
    if (seek) inputOptions.push('-noaccurate_seek', '-ss', start.toFixed(6));
    const scale = width !== info.width || height !== info.height ? ['-vf', `scale=${width}:${height}`] : [];

    const socketPath = rawFrameSocketPath();
    const command = ffmpeg(info.source)
      .setFfmpegPath(resolveBinary('ffmpeg').path)
      .inputOptions(inputOptions)
      .output(`unix:${socketPath}`)
      .outputOptions(['-map', '0:v:0', '-an', '-sn', '-dn', '-vsync', 'passthrough', ...scale, '-pix_fmt', format, '-f', 'rawvideo', '-listen', '1']);

    const ptsByFrame: number[] = [];
    let timestampsSeen = 0;
    const completed: Uint8Array[] = [];
    let decodedCount = 0;
    let emittedCount = 0;
    let lastPts: number | undefined;
    let finished = false;
    let processEnded = false;
    let outputEnded = false;
    let processError: string | undefined;
    let lastProblem: string | undefined;
    // Ctrl-C on a terminal reaches ffmpeg too; it then stops early on purpose, which is not a damaged input.
    let interruptedBySignal = false;

    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      command.kill('SIGKILL');
      reader.close();
      if (error) subscriber.error(error);
      else subscriber.complete();
    };

    const emitCompleted = (): void => {
      while (!finished && completed.length > 0) {
        if (ptsByFrame.length === 0) return;
        const pts = ptsByFrame.shift() as number;
        const buffer = completed.shift() as Uint8Array;
        const count = decodedCount;
        decodedCount += 1;
        if (pts < firstPts - halfFrame(info)) {
          pool.release(buffer);
          continue;
        }
        if (pts >= endPts - halfFrame(info)) {
          pool.release(buffer);
          finish();
          return;
        }
        const index = seek ? Math.round((pts - info.startTime) * info.fps) : count;
        const frame = pooledFrame({ index, pts, width, height, format, decodedAt: performance.now() }, buffer, (b) => pool.release(b));
        lastPts = pts;
        emittedCount += 1;
        subscriber.next(frame);
      }
    };

    const maybeComplete = (): void => {
      if (finished || !processEnded || !outputEnded) return;
      emitCompleted();
      if (finished) return;
      if (interruptedBySignal) {
        finish();
        return;
      }
      if (processError !== undefined) {
        finish(new UserError(`${info.source}: decoding failed (${processError})`));
        return;
      }
      const expectedEnd = Math.min(endPts, info.duration !== undefined ? info.startTime + info.duration : Infinity);
      const lastEnd = (lastPts ?? firstPts) + 1 / info.fps;
      if (Number.isFinite(expectedEnd) && lastEnd < expectedEnd - 1.5 / info.fps) {
        const promised = info.frameCount !== undefined && options.duration === undefined && start === 0 ? ` of ${info.frameCount}` : '';
        finish(
          new UserError(
            `${info.source}: input ended early after ${emittedCount}${promised} frames at ${lastEnd.toFixed(2)} s of ${expectedEnd.toFixed(2)} s ` +
              `(truncated or damaged file${lastProblem ? `: ${lastProblem}` : ''})`,
          ),
        );
        return;
      }
      finish();
    };

    command.on('stderr', (line: string) => {
      const decoded = parseDecoderLine(line);
      if (decoded) {
        // Frames are logged in the order they are written to the socket. A frame without a timestamp is placed one
        // nominal frame after the previous one.
        const previous = ptsByFrame[ptsByFrame.length - 1] ?? lastPts;
        const pts =
          decoded.pts !== undefined
            ? seconds(decoded.pts, decoded.timeBase)
            : previous !== undefined
              ? previous + 1 / info.fps
              : info.startTime + timestampsSeen / info.fps;
        timestampsSeen += 1;
        ptsByFrame.push(pts);
        emitCompleted();
        return;
      }
      if (line.includes('received signal')) interruptedBySignal = true;
      if (isErrorLine(line)) lastProblem = line.replace(/^\[[^\]]*\]\s*/, '').trim();
    });
    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      if (finished) return;
      processError = lastProblem ?? lastErrorLine(stderr ?? error.message, info.source);
      processEnded = true;
      if (!reader.connected) outputEnded = true;
      maybeComplete();
    });
    command.on('end', () => {
      processEnded = true;
      if (!reader.connected) outputEnded = true;
      maybeComplete();
    });

    const reader = new RawFrameSocket(socketPath, pool, {
      frame: (buffer) => {
        completed.push(buffer);
        emitCompleted();
      },
      end: () => {
        outputEnded = true;
        maybeComplete();
      },
      error: (error) => finish(error),
      shouldRetry: () => !finished && !processEnded,
    });
    command.on('start', () => reader.connect());
    command.run();

    return () => {
      if (!finished) {
        finished = true;
        command.kill('SIGKILL');
      }
      reader.close();
    };
  });
}
