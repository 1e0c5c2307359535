import type { Rational } from './probe';

/** A decoded video frame's timestamp, from the `decoder ->` line ffmpeg logs under `-debug_ts`. */
export interface DecodedTimestamp {
  /** In units of `timeBase`; undefined when the stream carries none (NOPTS: raw elementary streams, some devices). */
  pts: number | undefined;
  timeBase: Rational;
}

const DECODER_LINE = /decoder -> (.*)\btime_base:(\d+)\/(\d+)/;

/**
 * Parse `decoder -> ...` lines. ffmpeg 4 to 6 print `best_effort_ts`, the timestamp the frame carries from then
 * on; ffmpeg 7 prints only `pts`, which it has already set to that value. Logging these costs nothing, unlike
 * the showinfo filter, which checksums every frame's pixels.
 */
export function parseDecoderLine(line: string): DecodedTimestamp | undefined {
  const match = DECODER_LINE.exec(line);
  if (!match) return undefined;
  const fields = match[1] as string;
  const value = /\bbest_effort_ts:(\S+)/.exec(fields)?.[1] ?? /\bpts:(\S+)/.exec(fields)?.[1];
  const pts = value !== undefined && /^-?\d+$/.test(value) ? Number(value) : undefined;
  const num = Number(match[2]);
  const den = Number(match[3]);
  if (!(num > 0 && den > 0)) return undefined;
  return { pts, timeBase: { num, den } };
}

/**
 * With `-debug_ts`, ffmpeg logs `encoder <- type:video ...` as it hands each frame to the video encoder (the same
 * words from ffmpeg 4 to 7). From then on the frame will be written even if ffmpeg is interrupted. Unlike the
 * showinfo filter, which checksums every frame's pixels, this costs nothing.
 */
export function isVideoEncoderInput(line: string): boolean {
  return line.includes('encoder <- type:video');
}

/** Lines of ffmpeg's log that report a real problem, as opposed to progress, banners and filter chatter. */
export function isErrorLine(line: string): boolean {
  if (line.includes('showinfo') || line.includes('_time:')) return false;
  return /error|invalid|corrupt|truncated|no such file|permission denied|could not|cannot|failed/i.test(line);
}
