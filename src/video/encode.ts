import ffmpeg from 'fluent-ffmpeg';
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve as resolvePath } from 'node:path';
import type { Writable } from 'node:stream';
import { UserError } from '../errors';
import { resolveBinary } from './binaries';
import { isErrorLine, parseShowinfoFrame } from './ffmpeg-log';
import type { Frame } from './frame';
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
  /** Overwrite an existing output file (ffmpeg's -y); otherwise refuse. */
  overwrite?: boolean;
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

/** Fail before any work is done when the output cannot be written, rather than after decoding has started. */
export function checkOutputPath(output: string, overwrite = true): void {
  if (output === '-' || isUrl(output)) return;
  const dir = dirname(resolvePath(output));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${output}: directory ${dir} does not exist`);
  if (existsSync(output)) {
    if (statSync(output).isDirectory()) throw new UserError(`${output}: is a directory`);
    if (!overwrite) throw new UserError(`${output}: already exists (pass --overwrite to replace it)`);
  }
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
 * Each frame is passed on only once ffmpeg has taken it into its filter graph (its `showinfo` line arrived). From
 * that point ffmpeg will write it out even if it is interrupted, so whatever runs after this operator (the JSON
 * writer) never describes a frame the video lacks. The buffer is free for reuse by then as well.
 *
 * Completing or erroring the source closes stdin, which makes ffmpeg write its trailer: the file is playable in
 * every case. Unsubscribing does the same, without waiting.
 */
export function encodeVideo<T extends { frame: Frame }>(options: EncodeOptions): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const { format, options: containerOptions } = containerFor(options.output);
      const audio = audioArguments(options.audio, format);
      const command = ffmpeg()
        .setFfmpegPath(resolveBinary('ffmpeg').path)
        .input('pipe:0')
        // Everything about our own stream is in its header: do not hold frames back to analyse them.
        .inputOptions(['-f', 'matroska', '-probesize', '32', '-analyzeduration', '0'])
        .outputOptions([
          '-map', '0:v:0',
          '-vf', 'showinfo',
          '-c:v', 'libx264',
          '-preset', options.preset ?? 'veryfast',
          '-crf', String(options.crf ?? 23),
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
      command.outputOptions(options.overwrite === false ? ['-n'] : ['-y']);

      const waiting: T[] = [];
      let confirmed = 0;
      let sourceDone = false;
      let sourceError: unknown;
      let exited = false;
      let stdin: Writable | undefined;
      let origin = options.origin;
      let lastProblem: string | undefined;
      let headerWritten = false;
      let subscription: Subscription | undefined;

      const flushConfirmed = (): void => {
        while (confirmed > 0 && waiting.length > 0) {
          confirmed -= 1;
          subscriber.next(waiting.shift() as T);
        }
      };

      const closeInput = (): void => {
        if (!stdin || stdin.writableEnded) return;
        stdin.end();
      };

      command.on('stderr', (line: string) => {
        if (parseShowinfoFrame(line)) {
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
        if (sourceError !== undefined) {
          subscriber.error(sourceError);
        } else if (error && !interrupted) {
          const why = headerWritten ? (lastProblem ?? lastErrorLine(stderr ?? error.message, options.output)) : 'no frames to encode';
          subscriber.error(new UserError(`${options.output}: encoding failed (${why})`));
        } else {
          subscriber.complete();
        }
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
            if (exited) {
              frame.release();
              return;
            }
            if (!headerWritten) {
              headerWritten = true;
              input.write(matroskaHeader({ width: options.width, height: options.height, frameDuration: options.variableTimeBase ? undefined : 1 / options.fps }));
            }
            origin ??= frame.pts;
            waiting.push(item);
            input.write(matroskaFramePrefix(frame.pts - origin, frame.data.byteLength));
            input.write(frame.data);
          },
          error: (error: unknown) => {
            sourceError = error;
            sourceDone = true;
            closeInput();
          },
          complete: () => {
            sourceDone = true;
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
