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

/**
 * A frame whose pixel buffer can move to another thread and back (a worker_threads transfer list moves an
 * ArrayBuffer without copying it and leaves the sender's view empty). The model's worker reads the very buffer the
 * decoder filled; meanwhile nobody here may touch the frame's pixels.
 */
export interface LendableFrame extends Frame {
  /** Hands the pixel buffer over; reading `data` throws until `giveBack`. */
  lend(): Uint8Array;
  /** Takes the buffer back as the other thread returned it (same bytes, a new view). */
  giveBack(data: Uint8Array): void;
}

export type FrameFields = Omit<Frame, 'data' | 'release'>;

/**
 * A frame over a buffer borrowed from a pool: `recycle` gets the buffer back once the frame is released, and not
 * before the buffer has come back from wherever it was lent to.
 */
export function pooledFrame<T extends FrameFields>(fields: T, buffer: Uint8Array, recycle: (buffer: Uint8Array) => void): T & LendableFrame {
  const byteLength = buffer.byteLength;
  let pixels: Uint8Array | undefined = buffer;
  let released = false;
  let releaseWhenBack = false;
  return {
    ...fields,
    get data(): Uint8Array {
      if (pixels === undefined) throw new Error(`frame ${fields.index}: its pixels are lent to another thread`);
      return pixels;
    },
    lend(): Uint8Array {
      if (pixels === undefined) throw new Error(`frame ${fields.index}: its pixels are already lent`);
      if (released) throw new Error(`frame ${fields.index}: lent after release`);
      const lent = pixels;
      pixels = undefined;
      return lent;
    },
    giveBack(data: Uint8Array): void {
      if (pixels !== undefined) throw new Error(`frame ${fields.index}: given back pixels it was not lent`);
      if (data.byteLength !== byteLength) throw new RangeError(`frame ${fields.index}: ${data.byteLength} bytes came back, ${byteLength} were lent`);
      pixels = data;
      if (releaseWhenBack) this.release();
    },
    release(): void {
      if (released) return;
      if (pixels === undefined) {
        releaseWhenBack = true;
        return;
      }
      released = true;
      recycle(pixels);
    },
  };
}
