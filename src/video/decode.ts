import ffmpeg from 'fluent-ffmpeg';
import { Observable } from 'rxjs';
import type { Readable } from 'node:stream';
import { UserError } from '../errors';
import { resolveBinary } from './binaries';
import { isErrorLine, parseShowinfoFrame, parseShowinfoTimeBase } from './ffmpeg-log';
import type { Frame } from './frame';
import { frameByteLength } from './frame';
import { FramePool } from './frame-pool';
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
  /** Extra ffmpeg options before `-i` (e.g. ['-f', 'v4l2'] for capture devices). */
  inputOptions?: string[];
}

export interface DecodedFrame extends Frame {
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

/**
 * Decode a video into RGBA frames. ffmpeg writes raw frames to a pipe; the `showinfo` filter reports each frame's
 * container timestamp on stderr, which is how pts stays exact on variable-frame-rate input. The two pipes are
 * paired by frame number, so a frame is emitted once both its pixels and its timestamp have arrived.
 *
 * The ffmpeg process starts on subscribe and is killed on unsubscribe.
 */
export function decode(info: VideoInfo, options: DecodeOptions = {}): Observable<DecodedFrame> {
  return new Observable<DecodedFrame>((subscriber) => {
    const width = options.width ?? info.width;
    const height = options.height ?? info.height;
    const byteLength = frameByteLength(width, height);
    const pool = new FramePool(options.poolSize ?? 8, byteLength);
    const start = Math.max(0, options.start ?? 0);
    const firstPts = info.startTime + start;
    const endPts = options.duration !== undefined ? firstPts + options.duration : Infinity;
    // Seeking skips decoding what comes before `start`, but then frames can no longer be counted; on constant-rate
    // input the index follows from pts, on variable-rate input we decode from the beginning and count.
    const seek = start > 0 && !info.variableFrameRate;

    const inputOptions = ['-copyts', ...(options.inputOptions ?? [])];
    if (info.source !== '-') inputOptions.unshift('-nostdin');
    if (seek) inputOptions.push('-ss', start.toFixed(6));
    const filters = ['showinfo'];
    if (width !== info.width || height !== info.height) filters.push(`scale=${width}:${height}`);

    const command = ffmpeg(info.source)
      .setFfmpegPath(resolveBinary('ffmpeg').path)
      .inputOptions(inputOptions)
      .outputOptions(['-map', '0:v:0', '-an', '-sn', '-dn', '-vsync', 'passthrough', '-vf', filters.join(','), '-pix_fmt', 'rgba', '-f', 'rawvideo']);

    // fluent-ffmpeg spawns asynchronously, so every listener below is attached before the first byte arrives.
    const output = command.pipe() as Readable;
    let timeBase: Rational | undefined;
    const ptsByFrame = new Map<number, number>();
    const completed: Uint8Array[] = [];
    let decodedCount = 0;
    let emittedCount = 0;
    let lastPts: number | undefined;
    let current: Uint8Array | undefined;
    let filled = 0;
    let pending: Buffer | undefined;
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
      if (error) subscriber.error(error);
      else subscriber.complete();
    };

    const emitCompleted = (): void => {
      while (!finished && completed.length > 0) {
        const pts = ptsByFrame.get(decodedCount);
        if (pts === undefined) return;
        ptsByFrame.delete(decodedCount);
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
        let released = false;
        const frame: DecodedFrame = {
          index,
          pts,
          width,
          height,
          data: buffer,
          decodedAt: performance.now(),
          release: () => {
            if (released) return;
            released = true;
            pool.release(buffer);
          },
        };
        lastPts = pts;
        emittedCount += 1;
        subscriber.next(frame);
      }
    };

    const consume = (chunk: Buffer): void => {
      let offset = 0;
      while (offset < chunk.length && !finished) {
        if (!current) {
          current = pool.acquire();
          if (!current) {
            pending = chunk.subarray(offset);
            output.pause();
            pool.whenAvailable(resume);
            return;
          }
          filled = 0;
        }
        const take = Math.min(byteLength - filled, chunk.length - offset);
        current.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === byteLength) {
          completed.push(current);
          current = undefined;
          emitCompleted();
        }
      }
    };

    const resume = (): void => {
      if (finished) return;
      const rest = pending;
      pending = undefined;
      if (rest) consume(rest);
      if (!pending && !finished) {
        output.resume();
        maybeComplete();
      }
    };

    const maybeComplete = (): void => {
      if (finished || !processEnded || !outputEnded || pending) return;
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
      const frameInfo = parseShowinfoFrame(line);
      if (frameInfo) {
        if (!timeBase) return;
        // showinfo numbers frames from 0 in output order, which is the order of the raw frames on stdout.
        ptsByFrame.set(frameInfo.n, seconds(frameInfo.pts, timeBase));
        emitCompleted();
        return;
      }
      timeBase ??= parseShowinfoTimeBase(line);
      if (line.includes('received signal')) interruptedBySignal = true;
      if (isErrorLine(line)) lastProblem = line.replace(/^\[[^\]]*\]\s*/, '').trim();
    });
    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      if (finished) return;
      processError = lastProblem ?? lastErrorLine(stderr ?? error.message, info.source);
      processEnded = true;
      maybeComplete();
    });
    command.on('end', () => {
      processEnded = true;
      maybeComplete();
    });

    output.on('data', (chunk: Buffer) => consume(chunk));
    output.on('end', () => {
      outputEnded = true;
      maybeComplete();
    });
    output.on('error', (error: Error) => finish(error));

    return () => {
      if (!finished) {
        finished = true;
        command.kill('SIGKILL');
      }
      output.destroy();
    };
  });
}
