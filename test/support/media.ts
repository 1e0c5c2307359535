import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryEnv, resolveBinary, type BinaryName } from '../../src/video/binaries';

export const SHARED_DATA = join(__dirname, '..', '..', '..', 'shared', 'data', 'udacity-lanelines');
/** The real dashcam clip: 960x540, 25 fps, 221 frames, AAC audio. Read from ../shared, never copied. */
export const SAMPLE_CLIP = join(SHARED_DATA, 'solidWhiteRight.mp4');

export function ffmpegPath(): string {
  return resolveBinary('ffmpeg').path;
}

export function ffprobePath(): string {
  return resolveBinary('ffprobe').path;
}

/** Run ffmpeg quietly; throws with its stderr when it fails. */
export function runFfmpeg(args: string[]): void {
  const result = spawnSync(ffmpegPath(), ['-hide_banner', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${result.stderr}`);
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_read_frames?: string;
  duration?: string;
}

/** ffprobe with -count_frames: decodes the whole file, so a damaged file shows here. */
export function probeStreams(file: string): { streams: ProbedStream[]; format: { duration?: string } } {
  const out = execFileSync(
    ffprobePath(),
    ['-v', 'error', '-count_frames', '-print_format', 'json', '-show_streams', '-show_format', file],
    { encoding: 'utf8', env: binaryEnv(resolveBinary('ffprobe')) },
  );
  return JSON.parse(out) as { streams: ProbedStream[]; format: { duration?: string } };
}

/** Presentation times of every video frame, as ffprobe reads them. */
export function framePts(file: string): number[] {
  const out = execFileSync(
    ffprobePath(),
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file],
    { encoding: 'utf8', env: binaryEnv(resolveBinary('ffprobe')) },
  );
  return out
    .split('\n')
    .map((line) => line.replace(/,+$/, '').trim())
    .filter((line) => line !== '')
    .map(Number);
}

/** Bytes of the frame at `index` in decode order, decoded by ffmpeg directly. */
export function referenceFrame(file: string, index: number, pixelFormat: 'yuv420p' | 'rgba' = 'yuv420p'): Buffer {
  return execFileSync(
    ffmpegPath(),
    ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index})`, '-vsync', 'passthrough', '-frames:v', '1', '-pix_fmt', pixelFormat, '-f', 'rawvideo', '-'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
}

export function tempDir(prefix = 'dashseg-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface ToolResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Run ffmpeg or ffprobe to completion, optionally feeding `input` on stdin; never rejects on a non-zero exit. */
export function runTool(name: BinaryName, args: readonly string[], input?: Uint8Array): Promise<ToolResult> {
  const binary = resolveBinary(name);
  return new Promise((resolve, reject) => {
    const child = spawn(binary.path, args, { stdio: ['pipe', 'pipe', 'pipe'], env: binaryEnv(binary) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ? Buffer.from(input.buffer, input.byteOffset, input.byteLength) : undefined);
  });
}
