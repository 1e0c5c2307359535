import ffmpeg from 'fluent-ffmpeg';
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve as resolvePath } from 'node:path';
import type { Writable } from 'node:stream';
import { UserError, errorMessage } from '../errors';
import { binaryEnv, resolveBinary } from './binaries';
import { isErrorLine, isVideoEncoderInput } from './ffmpeg-log';
import type { Frame, PixelFormat } from './frame';
import { matroskaFramePrefix, matroskaHeader } from './matroska';
import { isUrl, lastErrorLine, type Rational } from './probe';

export const X264_PRESETS = [
  'ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow',
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

/** Audio codecs an mp4 carries as they are; anything else is re-encoded to AAC rather than dropped. */
const MP4_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac', 'opus']);

export interface AudioSource {
  /** The file or URL whose first audio stream is copied into the output. */
  source: string;
  codec?: string;
  /** Same trim as the video, so that sound stays in sync with pictures. */
  start?: number;
  duration?: number;
}

export interface EncodeOptions {
  /** A file path (mp4, mkv, mov) or a stream URL (udp://, tcp://, rtmp://, rtsp://, srt://). */
  output: string;
  width: number;
  height: number;
  /** Layout of the frames that will arrive (default yuv420p). */
  format?: PixelFormat;
  /** Frames per second of the source; timing comes from each frame's pts, this only names the nominal rate. */
  fps: number;
  /**
   * Set for variable-frame-rate sources: frame times are then kept in this time base (the source's) instead of
   * being rounded to multiples of 1/fps.
   */
  variableTimeBase?: Rational;
  /** pts that maps to time 0 in the output (the first frame's, or the trim start). Default: the first frame's. */
  origin?: number;
  preset?: X264Preset;
  crf?: number;
  audio?: AudioSource;
  /** Replace an existing output file (the default); false refuses it with a UserError before ffmpeg starts. */
  overwrite?: boolean;
  /** x264's zerolatency tuning: no lookahead or B-frames, so a viewer of a live output sees each frame at once. */
  lowLatency?: boolean;
}

function containerFor(output: string): { format: string; options: string[] } {
  const protocol = /^([a-z][a-z0-9+.-]*):\/\//i.exec(output)?.[1]?.toLowerCase();
  if (protocol === 'rtmp' || protocol === 'rtmps') return { format: 'flv', options: [] };
  if (protocol === 'rtsp') return { format: 'rtsp', options: [] };
  if (protocol !== undefined && protocol !== 'file') return { format: 'mpegts', options: [] };
  switch (extname(output).toLowerCase()) {
    case '.mkv':
      return { format: 'matroska', options: [] };
    case '.mov':
      return { format: 'mov', options: ['-movflags', '+faststart'] };
    case '.ts':
      return { format: 'mpegts', options: [] };
    default:
      // Faststart moves the index to the front so the file plays while it downloads.
      return { format: 'mp4', options: ['-movflags', '+faststart'] };
  }
}

function alreadyExists(output: string): UserError {
  return new UserError(`${output}: already exists (pass --overwrite to replace it)`);
}

/**
 * Make sure an output file can be written before any work is done, rather than fail after decoding has started.
 * Missing directories are created, as `-o runs/today/drive.mp4` asks for them.
 */
export function checkOutputPath(output: string, overwrite = true): void {
  if (output === '-' || isUrl(output)) return;
  const dir = dirname(resolvePath(output));
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'a parent is a file, not a directory' : errorMessage(error);
    throw new UserError(`${output}: cannot create directory ${dir} (${why})`);
  }
  const existed = existsSync(output);
  if (existed) {
    if (statSync(output).isDirectory()) throw new UserError(`${output}: is a directory`);
    if (!overwrite) throw alreadyExists(output);
  }
  // Opening the file is the only test that covers every case: permissions, read-only mounts, pseudo file systems.
  try {
    closeSync(openSync(output, 'a'));
  } catch (error) {
    // Node's message reads 'CODE: description, open <path>'; the path already leads ours.
    throw new UserError(`${output}: cannot write (${errorMessage(error).split(', open')[0]})`);
  }
  if (!existed) rmSync(output, { force: true });
}

function isLocalFile(output: string): boolean {
  return output !== '-' && !isUrl(output);
}

/** End time in seconds of the first audio stream of a written file, from ffprobe. */
function audioEnd(file: string): Promise<number | undefined> {
  const ffprobe = resolveBinary('ffprobe');
  return new Promise((resolve) => {
    execFile(
      ffprobe.path,
      ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=start_time,duration', '-of', 'json', file],
      { env: binaryEnv(ffprobe) },
      (error, stdout) => {
        if (error) return resolve(undefined);
        const stream = (JSON.parse(stdout) as { streams?: { start_time?: string; duration?: string }[] }).streams?.[0];
        const end = Number(stream?.start_time ?? 0) + Number(stream?.duration);
        resolve(Number.isFinite(end) ? end : undefined);
      },
    );
  });
}

/**
 * When pictures stop before the sound does (an interrupted run, a damaged input), cut the audio at the last frame
 * by remuxing without re-encoding. ffmpeg's own -shortest cannot do this: in the ffmpeg builds we ship it drops
 * the frames still inside x264's lookahead.
 */
async function trimAudioToVideo(file: string, format: string, videoEnd: number, tolerance: number): Promise<void> {
  const end = await audioEnd(file);
  if (end === undefined || end <= videoEnd + tolerance) return;
  const trimmed = join(dirname(file), `.${basename(file)}.trim${extname(file)}`);
  await new Promise<void>((resolve, reject) => {
    ffmpeg(file)
      .setFfmpegPath(resolveBinary('ffmpeg').path)
      .outputOptions(['-map', '0', '-c', 'copy', '-t', videoEnd.toFixed(6), ...containerFor(file).options, '-f', format, '-y'])
      .on('error', (error: Error) => reject(error))
      .on('end', () => resolve())
      .save(trimmed);
  });
  renameSync(trimmed, file);
}

function audioArguments(audio: AudioSource | undefined, format: string): { inputOptions: string[]; outputOptions: string[] } {
  if (!audio) return { inputOptions: [], outputOptions: [] };
  const inputOptions = ['-nostdin'];
  if (audio.start !== undefined && audio.start > 0) inputOptions.push('-ss', audio.start.toFixed(6));
  if (audio.duration !== undefined) inputOptions.push('-t', audio.duration.toFixed(6));
  const copy = format !== 'mp4' && format !== 'mov' ? audio.codec !== undefined : MP4_AUDIO.has(audio.codec ?? '');
  return {
    inputOptions,
    outputOptions: ['-map', '1:a:0?', ...(copy ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '160k'])],
  };
}

/**
 * Encode frames to H.264 (yuv420p) with ffmpeg. Frames go to ffmpeg's stdin as Matroska blocks carrying their
 * pts, so the output keeps the source's timing, variable or not.
 *
 * Each frame is passed on only once ffmpeg has handed it to x264 (its `-debug_ts` line arrived). From that point
 * ffmpeg will write it out even if it is interrupted, so whatever runs after this operator (the JSON
 * writer) never describes a frame the video lacks. The buffer is free for reuse by then as well.
 *
 * Completing or erroring the source closes stdin, which makes ffmpeg write its trailer: the file is playable in
 * every case. Unsubscribing does the same, without waiting.
 */
export function encodeVideo<T extends { frame: Frame }>(options: EncodeOptions): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      // fluent-ffmpeg passes -y for every file output and ffmpeg refuses -y with -n, so the check is made here.
      if (options.overwrite === false && isLocalFile(options.output) && existsSync(options.output)) {
        subscriber.error(alreadyExists(options.output));
        return undefined;
      }
      const { format, options: containerOptions } = containerFor(options.output);
      // ffmpeg 4.1 gives variable-rate packets no duration, and the mp4/mov muxer takes the last packet's duration
      // as 0: when that packet is the last frame shown, the edit list ends where that frame starts and hides it from
      // every player. So the last frame shown is made the last packet (no B-frames, whose reordering would put it
      // elsewhere) and followed by a copy of itself one frame later: the copy ends the edit list and is never shown.
      const closingFrame = options.variableTimeBase !== undefined && (format === 'mp4' || format === 'mov') ? new ClosingFrame() : undefined;
      const audio = audioArguments(options.audio, format);
      const command = ffmpeg()
        .setFfmpegPath(resolveBinary('ffmpeg').path)
        .input('pipe:0')
        // Everything about our own stream is in its header: do not hold frames back to analyse them.
        .inputOptions(['-debug_ts', '-f', 'matroska', '-probesize', '32', '-analyzeduration', '0'])
        .outputOptions([
          '-map', '0:v:0',
          // x264 needs even sizes in 4:2:0; an odd-sized source gets one black row or column rather than an error.
          ...(options.width % 2 === 1 || options.height % 2 === 1 ? ['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2'] : []),
          '-c:v', 'libx264',
          '-preset', options.preset ?? 'veryfast',
          '-crf', String(options.crf ?? 23),
          ...(options.lowLatency ? ['-tune', 'zerolatency'] : []),
          ...(closingFrame ? ['-bf', '0'] : []),
          '-pix_fmt', 'yuv420p',
          ...(options.variableTimeBase
            ? ['-enc_time_base:v', `${options.variableTimeBase.num}:${options.variableTimeBase.den}`]
            : []),
          // Keep each frame's own timestamp: no duplicated or dropped frames to force a constant rate.
          '-vsync', 'vfr',
          ...audio.outputOptions,
          ...containerOptions,
          '-f', format,
        ]);
      if (options.audio) command.input(options.audio.source).inputOptions(audio.inputOptions);
      command.output(options.output === '-' ? 'pipe:1' : options.output);

      const waiting: T[] = [];
      let confirmed = 0;
      let sourceDone = false;
      let sourceError: unknown;
      let exited = false;
      let stdin: Writable | undefined;
      let origin = options.origin;
      let lastProblem: string | undefined;
      let headerWritten = false;
      /** pts of the last frame ffmpeg took: the end of the video it writes. */
      let lastPts: number | undefined;
      let subscription: Subscription | undefined;

      const flushConfirmed = (): void => {
        while (confirmed > 0 && waiting.length > 0) {
          confirmed -= 1;
          const item = waiting.shift() as T;
          lastPts = item.frame.pts;
          subscriber.next(item);
        }
      };

      const closeInput = (): void => {
        if (!stdin || stdin.writableEnded) return;
        stdin.end();
      };

      command.on('stderr', (line: string) => {
        if (isVideoEncoderInput(line)) {
          confirmed += 1;
          flushConfirmed();
        } else if (isErrorLine(line)) {
          lastProblem = line.replace(/^\[[^\]]*\]\s*/, '').trim();
        }
      });
      const onExit = (error?: Error, stderr?: string | null): void => {
        exited = true;
        flushConfirmed();
        // Frames ffmpeg never took are not in the output; they are not passed on, only handed back.
        for (const item of waiting.splice(0)) item.frame.release();
        subscription?.unsubscribe();
        // ffmpeg that caught SIGINT itself (Ctrl-C reaches the whole process group) has still finalized its output.
        const interrupted = stderr?.includes('received signal') ?? false;
        if (error && !interrupted) {
          const why = headerWritten ? (lastProblem ?? lastErrorLine(stderr ?? error.message, options.output)) : 'no frames to encode';
          subscriber.error(sourceError ?? new UserError(`${options.output}: encoding failed (${why})`));
          return;
        }
        const done = (): void => {
          if (sourceError !== undefined) subscriber.error(sourceError);
          else subscriber.complete();
        };
        if (!options.audio || !isLocalFile(options.output) || lastPts === undefined || origin === undefined) {
          done();
          return;
        }
        const frameDuration = 1 / options.fps;
        const videoEnd = lastPts - origin + frameDuration;
        // When the pictures reach the end of the audio that was asked for, there is nothing to cut: skip the probe.
        if (options.audio.duration !== undefined && videoEnd >= options.audio.duration - frameDuration / 2) {
          done();
          return;
        }
        trimAudioToVideo(options.output, format, videoEnd, frameDuration / 2).then(done, (trimError: unknown) =>
          subscriber.error(new UserError(`${options.output}: could not trim the audio to the video (${errorMessage(trimError)})`)),
        );
      };
      command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => onExit(error, stderr));
      command.on('end', () => onExit());
      // Frames are taken from the source only once ffmpeg runs: fluent-ffmpeg spawns it asynchronously.
      command.on('start', () => {
        const input = (command as unknown as { ffmpegProc: { stdin: Writable } }).ffmpegProc.stdin;
        stdin = input;
        // ffmpeg exiting early (bad output path, SIGINT) closes the pipe; the exit status tells the real story.
        input.on('error', () => undefined);
        if (subscriber.closed) return;
        subscription = source.subscribe({
          next: (item) => {
            const { frame } = item;
            if (exited || sourceError !== undefined) {
              frame.release();
              return;
            }
            const format = options.format ?? 'yuv420p';
            if (frame.format !== format || frame.width !== options.width || frame.height !== options.height) {
              frame.release();
              sourceError ??= new Error(
                `encodeVideo expects ${options.width}x${options.height} ${format} frames, got ${frame.width}x${frame.height} ${frame.format}`,
              );
              closeInput();
              return;
            }
            if (!headerWritten) {
              headerWritten = true;
              input.write(matroskaHeader({ width: options.width, height: options.height, format: options.format ?? 'yuv420p', frameDuration: 1 / options.fps }));
            }
            origin ??= frame.pts;
            waiting.push(item);
            input.write(matroskaFramePrefix(frame.pts - origin, frame.data.byteLength));
            input.write(frame.data);
            closingFrame?.remember(frame.data, frame.pts - origin);
          },
          error: (error: unknown) => {
            sourceError = error;
            sourceDone = true;
            closeInput();
          },
          complete: () => {
            sourceDone = true;
            const closing = closingFrame?.block(1 / options.fps);
            if (closing && !exited) {
              input.write(matroskaFramePrefix(closing.time, closing.data.byteLength));
              input.write(closing.data);
            }
            closeInput();
          },
        });
      });
      command.run();

      return () => {
        subscription?.unsubscribe();
        if (!exited && !sourceDone) closeInput();
      };
    });
}

/** The last frame written and its time, to repeat it once after the end (see `closingFrame` in encodeVideo). */
class ClosingFrame {
  private copy: Uint8Array | undefined;
  private time: number | undefined;
  private interval: number | undefined;

  remember(data: Uint8Array, time: number): void {
    if (this.copy?.byteLength !== data.byteLength) this.copy = new Uint8Array(data.byteLength);
    this.copy.set(data);
    if (this.time !== undefined && time > this.time) this.interval = time - this.time;
    this.time = time;
  }

  /** The repeat, one frame interval (the last one seen, else `nominal`) after the last frame; none before any. */
  block(nominal: number): { time: number; data: Uint8Array } | undefined {
    if (!this.copy || this.time === undefined) return undefined;
    return { time: this.time + (this.interval ?? nominal), data: this.copy };
  }
}

