import type { Rational } from './probe';

/** What the `showinfo` filter tells about one frame: its sequence number and its timestamp in the filter time base. */
export interface ShowinfoFrame {
  n: number;
  pts: number;
}

const TIME_BASE = /showinfo.*config in time_base:\s*(\d+)\/(\d+)/;
const FRAME = /showinfo.*\bn:\s*(\d+)\s+pts:\s*(-?\d+)/;

export function parseShowinfoTimeBase(line: string): Rational | undefined {
  const match = TIME_BASE.exec(line);
  if (!match) return undefined;
  const num = Number(match[1]);
  const den = Number(match[2]);
  return num > 0 && den > 0 ? { num, den } : undefined;
}

export function parseShowinfoFrame(line: string): ShowinfoFrame | undefined {
  const match = FRAME.exec(line);
  if (!match) return undefined;
  return { n: Number(match[1]), pts: Number(match[2]) };
}

/** Lines of ffmpeg's log that report a real problem, as opposed to progress, banners and filter chatter. */
export function isErrorLine(line: string): boolean {
  if (line.includes('showinfo')) return false;
  return /error|invalid|corrupt|truncated|no such file|permission denied|could not|cannot|failed/i.test(line);
}
