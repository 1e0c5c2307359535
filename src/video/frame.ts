/**
 * One decoded video frame. Pixels are RGBA, row-major, `width * height * 4` bytes, in a buffer borrowed from a
 * FramePool: whoever consumes the frame last calls `release()` so that the decoder may reuse the buffer. That
 * hand-back is what bounds memory: the decoder stops reading ffmpeg's output while every buffer is out.
 */
export interface Frame {
  /** 0-based index of the frame among all frames decoded from the source. */
  readonly index: number;
  /** Presentation time in seconds, from the container's timestamps. */
  readonly pts: number;
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  /** Return the pixel buffer to its pool. Idempotent; the frame must not be read afterwards. */
  release(): void;
}

export const BYTES_PER_PIXEL = 4;

export function frameByteLength(width: number, height: number): number {
  return width * height * BYTES_PER_PIXEL;
}
