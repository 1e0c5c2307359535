/**
 * How a frame's bytes are laid out.
 * - `yuv420p`: planar Y, then U, then V at half resolution in both directions (rounded up): what H.264 decodes to
 *   and encodes from, so a frame that only passes through the pipeline is never colour-converted. The default.
 * - `rgba`: 4 bytes a pixel, row-major: what canvas and most image code want.
 */
export type PixelFormat = 'yuv420p' | 'rgba';

export const PIXEL_FORMATS: readonly PixelFormat[] = ['yuv420p', 'rgba'];

/**
 * One decoded video frame, in a buffer borrowed from a FramePool: whoever consumes the frame last calls
 * `release()` so that the decoder may reuse the buffer. That hand-back is what bounds memory: the decoder stops
 * reading ffmpeg's output while every buffer is out.
 */
export interface Frame {
  /** 0-based index of the frame among all frames decoded from the source. */
  readonly index: number;
  /** Presentation time in seconds, from the container's timestamps. */
  readonly pts: number;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly data: Uint8Array;
  /** Return the pixel buffer to its pool. Idempotent; the frame must not be read afterwards. */
  release(): void;
}

/** Where each plane of a yuv420p frame starts, and its size. */
export interface I420Layout {
  chromaWidth: number;
  chromaHeight: number;
  uOffset: number;
  vOffset: number;
  byteLength: number;
}

export function i420Layout(width: number, height: number): I420Layout {
  const chromaWidth = Math.ceil(width / 2);
  const chromaHeight = Math.ceil(height / 2);
  const uOffset = width * height;
  const vOffset = uOffset + chromaWidth * chromaHeight;
  return { chromaWidth, chromaHeight, uOffset, vOffset, byteLength: vOffset + chromaWidth * chromaHeight };
}

export function frameByteLength(width: number, height: number, format: PixelFormat): number {
  return format === 'rgba' ? width * height * 4 : i420Layout(width, height).byteLength;
}
