import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { UserError } from '../errors';
import { binaryEnv, resolveBinary } from './binaries';

export interface Rational {
  num: number;
  den: number;
}

export interface VideoInfo {
  /** The input as given: a path or a URL. */
  source: string;
  container: string;
  videoCodec: string;
  pixelFormat: string;
  /** Size of decoded frames: ffmpeg applies the rotation, so a 90° clip has width and height swapped. */
  width: number;
  height: number;
  /** Clockwise display rotation in degrees (0, 90, 180, 270) recorded in the container. */
  rotation: number;
  /** Frames per second: the average rate, or the nominal one when the container does not know the average. */
  fps: number;
  frameRate: Rational;
  /** True when the container's nominal and average rates differ, i.e. frame durations vary. */
  variableFrameRate: boolean;
  timeBase: Rational;
  /** Presentation time of the first frame in seconds (not always 0: MPEG-TS, edited mp4s). */
  startTime: number;
  /** Seconds, when the container knows. */
  duration?: number;
  /** Number of video frames, when the container records it. */
  frameCount?: number;
  hasAudio: boolean;
  audioCodec?: string;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  pix_fmt?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  time_base?: string;
  start_time?: string;
  duration?: string;
  nb_frames?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number | string }[];
  disposition?: { attached_pic?: number };
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { format_name?: string; start_time?: string; duration?: string };
}

export function parseRational(text: string | undefined): Rational | undefined {
  if (text === undefined) return undefined;
  const [num, den] = text.split('/').map(Number);
  if (num === undefined || den === undefined || !Number.isFinite(num) || !Number.isFinite(den) || num <= 0 || den <= 0) {
    return undefined;
  }
  return { num, den };
}

function finiteNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === 'N/A') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function rotationOf(stream: ProbeStream): number {
  // ffmpeg < 5 reports a `rotate` tag (clockwise); newer ones a display matrix whose angle is counter-clockwise.
  const sideData = stream.side_data_list?.find((entry) => entry.rotation !== undefined);
  const degrees = sideData ? -Number(sideData.rotation) : Number(stream.tags?.rotate ?? 0);
  if (!Number.isFinite(degrees)) return 0;
  return ((Math.round(degrees / 90) * 90) % 360 + 360) % 360;
}

/** Build VideoInfo from ffprobe's JSON. Separate from `probe` so that odd containers can be tested from text. */
export function videoInfoFromProbe(source: string, output: ProbeOutput): VideoInfo {
  const streams = output.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video || !video.width || !video.height) {
    throw new UserError(`${source} has no video stream`);
  }
  const audio = streams.find((s) => s.codec_type === 'audio');
  const nominal = parseRational(video.r_frame_rate);
  const average = parseRational(video.avg_frame_rate);
  const frameRate = average ?? nominal;
  if (!frameRate) throw new UserError(`${source}: ffprobe reports no frame rate for the video stream`);
  const rotation = rotationOf(video);
  const swap = rotation === 90 || rotation === 270;
  const frameCount = finiteNumber(video.nb_frames);
  const duration = finiteNumber(video.duration) ?? finiteNumber(output.format?.duration);
  const info: VideoInfo = {
    source,
    container: output.format?.format_name ?? 'unknown',
    videoCodec: video.codec_name ?? 'unknown',
    pixelFormat: video.pix_fmt ?? 'unknown',
    width: swap ? video.height : video.width,
    height: swap ? video.width : video.height,
    rotation,
    fps: frameRate.num / frameRate.den,
    frameRate,
    variableFrameRate:
      nominal !== undefined && average !== undefined && nominal.num * average.den !== average.num * nominal.den,
    timeBase: parseRational(video.time_base) ?? { num: 1, den: 90000 },
    startTime: finiteNumber(video.start_time) ?? finiteNumber(output.format?.start_time) ?? 0,
    hasAudio: audio !== undefined,
  };
  if (duration !== undefined) info.duration = duration;
  if (frameCount !== undefined && frameCount > 0) info.frameCount = frameCount;
  if (audio?.codec_name) info.audioCodec = audio.codec_name;
  return info;
}

export function isUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
}

/** The last meaningful line of ffprobe/ffmpeg's stderr, which is where they put the reason for a failure. */
export function lastErrorLine(stderr: string, source: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const last = lines[lines.length - 1] ?? 'unknown error';
  // ffprobe prefixes the input name: "in.mp4: Invalid data found when processing input".
  return last.startsWith(`${source}: `) ? last.slice(source.length + 2) : last;
}

export interface ProbeOptions {
  /** Extra input options placed before `-i`, e.g. ['-f', 'v4l2'] for a capture device. */
  inputOptions?: string[];
  timeoutMs?: number;
}

export function probe(source: string, options: ProbeOptions = {}): Promise<VideoInfo> {
  if (!isUrl(source) && !existsSync(source)) {
    return Promise.reject(new UserError(`${source}: no such file`));
  }
  const ffprobe = resolveBinary('ffprobe');
  const args = [
    '-v', 'error',
    '-print_format', 'json',
    '-show_format', '-show_streams',
    ...(options.inputOptions ?? []),
    source,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      ffprobe.path,
      args,
      { maxBuffer: 16 * 1024 * 1024, timeout: options.timeoutMs ?? 30_000, env: binaryEnv(ffprobe) },
      (error, stdout, stderr) => {
        if (error) {
          const why = (error as NodeJS.ErrnoException & { killed?: boolean }).killed
            ? 'timed out'
            : lastErrorLine(stderr, source);
          const what = isUrl(source) ? 'cannot open stream' : 'not a readable video';
          reject(new UserError(`${source}: ${what} (${why})`));
          return;
        }
        try {
          resolve(videoInfoFromProbe(source, JSON.parse(stdout) as ProbeOutput));
        } catch (parseError) {
          reject(parseError instanceof UserError ? parseError : new UserError(`${source}: unreadable ffprobe output`));
        }
      },
    );
  });
}
