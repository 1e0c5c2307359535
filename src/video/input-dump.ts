/**
 * What ffmpeg's own log says about the streams it opened: the `Input #0` / `Output #0` dumps it prints at info
 * level. A live source cannot be probed separately (probing would consume it, and stdin can be read only once), so
 * the decoding ffmpeg's dump is the only description of the stream there is.
 */

export interface DumpedVideoStream {
  width: number;
  height: number;
  /** Nominal rate: the `fps` field, else `tbr` (ffmpeg's guess); undefined when the dump shows neither. */
  fps: number | undefined;
}

/** `Stream #0:0[0x100]: Video: ...` or `Stream #0:1(eng): Video: ...`; attached pictures (cover art) are not video. */
const VIDEO_STREAM = /^\s*Stream #\d+:\d+\S*: Video: /;
/**
 * The size follows a comma: codec tags such as `(YUY2 / 0x32595559)` look like sizes too, but never follow one.
 */
const SIZE = /, (\d+)x(\d+)(?=[\s,]|$)/;

/** `25 fps`, `29.97 fps`, `1k fps`: ffmpeg prints rates with a `k` suffix above 1000. */
function rate(line: string, unit: 'fps' | 'tbr'): number | undefined {
  const match = new RegExp(`, (\\d+(?:\\.\\d+)?)(k?) ${unit}\\b`).exec(line);
  if (!match) return undefined;
  const value = Number(match[1]) * (match[2] === 'k' ? 1000 : 1);
  return value > 0 ? value : undefined;
}

export function parseVideoStreamLine(line: string): DumpedVideoStream | undefined {
  if (!VIDEO_STREAM.test(line) || line.includes('(attached pic)')) return undefined;
  const size = SIZE.exec(line);
  if (!size) return undefined;
  const width = Number(size[1]);
  const height = Number(size[2]);
  if (!(width > 0 && height > 0)) return undefined;
  return { width, height, fps: rate(line, 'fps') ?? rate(line, 'tbr') };
}

/**
 * Degrees a stream is to be turned for display, from the lines that follow its stream line: the `rotate` metadata
 * tag or the display matrix side data, the two places ffmpeg's autorotation looks.
 */
export function parseRotationLine(line: string): number | undefined {
  const match = /^\s*rotate\s*:\s*(-?\d+(?:\.\d+)?)\s*$/.exec(line) ?? /displaymatrix: rotation of (-?\d+(?:\.\d+)?) degrees/.exec(line);
  return match ? Number(match[1]) : undefined;
}

/** Whether a rotation turns the picture on its side, so that autorotated frames have width and height swapped. */
export function swapsSides(degrees: number): boolean {
  return Math.abs(Math.round(degrees / 90)) % 2 === 1;
}

/** Which dump a line belongs to, as far as can be told from the line itself. */
export function dumpHeader(line: string): 'input' | 'output' | 'mapping' | undefined {
  if (/^Input #\d+, /.test(line)) return 'input';
  if (/^Output #\d+, /.test(line)) return 'output';
  if (line.startsWith('Stream mapping:')) return 'mapping';
  return undefined;
}
