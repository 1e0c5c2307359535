import { i420Layout } from '../video/frame';

/** a·x + (1−a)·y for 8-bit a, rounded, without a division. */
function mix(x: number, y: number, alpha: number): number {
  const mixed = x * alpha + y * (255 - alpha) + 128;
  return (mixed + (mixed >> 8)) >> 8;
}

/** A straight-alpha RGBA image, row-major, as canvas `getImageData` returns it. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** The pixels of a frame to draw on: RGBA, or planar yuv420p, `width` x `height`. */
export interface FramePixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The part of the frame an overlay placed at (left, top) covers: [x0, x1) x [y0, y1), possibly empty. */
function coveredRegion(frame: FramePixels, overlay: RgbaImage, left: number, top: number): { x0: number; y0: number; x1: number; y1: number } {
  return {
    x0: Math.max(0, left),
    y0: Math.max(0, top),
    x1: Math.min(frame.width, left + overlay.width),
    y1: Math.min(frame.height, top + overlay.height),
  };
}

/**
 * Composite a straight-alpha RGBA image onto an opaque RGBA frame in place. Working on the frame's bytes rather
 * than through a full-frame canvas avoids copying the frame in and out of canvas for every frame.
 */
export function blendOver(frame: FramePixels, overlay: RgbaImage, left: number, top: number): void {
  const { x0, y0, x1, y1 } = coveredRegion(frame, overlay, left, top);
  const { data: pixels } = frame;
  const { data: source, width: overlayWidth } = overlay;
  for (let y = y0; y < y1; y++) {
    let src = ((y - top) * overlayWidth + (x0 - left)) * 4;
    let dst = (y * frame.width + x0) * 4;
    for (let x = x0; x < x1; x++, src += 4, dst += 4) {
      const alpha = source[src + 3] as number;
      if (alpha === 0) continue;
      if (alpha === 255) {
        pixels[dst] = source[src] as number;
        pixels[dst + 1] = source[src + 1] as number;
        pixels[dst + 2] = source[src + 2] as number;
        continue;
      }
      for (let c = 0; c < 3; c++) pixels[dst + c] = mix(source[src + c] as number, pixels[dst + c] as number, alpha);
    }
  }
}

/** BT.601 limited range in the usual 8-bit integer form: the matrix ffmpeg's scaler uses by default. */
function lumaOf(r: number, g: number, b: number): number {
  return ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
}

function chromaBlueOf(r: number, g: number, b: number): number {
  return ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
}

function chromaRedOf(r: number, g: number, b: number): number {
  return ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
}

/**
 * The same composite onto a yuv420p frame. Blending is linear and RGB→YUV is affine, so mixing in YUV gives the
 * colours mixing in RGB would; chroma, stored once per 2×2 block, mixes with the block's mean alpha and colour.
 */
export function blendOverI420(frame: FramePixels, overlay: RgbaImage, left: number, top: number): void {
  const { x0, y0, x1, y1 } = coveredRegion(frame, overlay, left, top);
  if (x0 >= x1 || y0 >= y1) return;
  const { data: pixels, width: frameWidth, height: frameHeight } = frame;
  const { data: source, width: overlayWidth } = overlay;
  for (let y = y0; y < y1; y++) {
    let src = ((y - top) * overlayWidth + (x0 - left)) * 4;
    let dst = y * frameWidth + x0;
    for (let x = x0; x < x1; x++, src += 4, dst++) {
      const alpha = source[src + 3] as number;
      if (alpha === 0) continue;
      pixels[dst] = mix(lumaOf(source[src] as number, source[src + 1] as number, source[src + 2] as number), pixels[dst] as number, alpha);
    }
  }
  const { chromaWidth, uOffset, vOffset } = i420Layout(frameWidth, frameHeight);
  for (let cy = y0 >> 1; cy <= (y1 - 1) >> 1; cy++) {
    for (let cx = x0 >> 1; cx <= (x1 - 1) >> 1; cx++) {
      let alphaSum = 0;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = 2 * cy; y < 2 * cy + 2; y++) {
        for (let x = 2 * cx; x < 2 * cx + 2; x++) {
          if (x < x0 || x >= x1 || y < y0 || y >= y1) continue;
          const src = ((y - top) * overlayWidth + (x - left)) * 4;
          const alpha = source[src + 3] as number;
          alphaSum += alpha;
          r += (source[src] as number) * alpha;
          g += (source[src + 1] as number) * alpha;
          b += (source[src + 2] as number) * alpha;
        }
      }
      if (alphaSum === 0) continue;
      // Colour is the alpha-weighted mean; coverage counts uncovered samples of the block as transparent.
      const alpha = (alphaSum + 2) >> 2;
      r = Math.round(r / alphaSum);
      g = Math.round(g / alphaSum);
      b = Math.round(b / alphaSum);
      const i = cy * chromaWidth + cx;
      pixels[uOffset + i] = mix(chromaBlueOf(r, g, b), pixels[uOffset + i] as number, alpha);
      pixels[vOffset + i] = mix(chromaRedOf(r, g, b), pixels[vOffset + i] as number, alpha);
    }
  }
}

/**
 * A one-colour overlay given by a binary mask: inside pixels at `fill` alpha, outline pixels (a 4-neighbour outside
 * the mask or off its crop) at `edge` alpha. Blended straight from the mask, it costs no RGBA image per instance:
 * a large mask would otherwise allocate megabytes a frame.
 */
export interface MaskOverlay {
  /** Crop of the image the mask covers, `data[y * width + x]` nonzero inside. */
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
  color: readonly [number, number, number];
  /** 8-bit alphas. */
  fill: number;
  edge: number;
}

let alphaScratch = new Uint8Array(0);

/**
 * The overlay's alpha for every crop pixel, computed once (the luma and the chroma passes both need it), in a
 * buffer reused from mask to mask.
 */
function alphaMap(m: MaskOverlay): Uint8Array {
  const { width, height, data, fill, edge } = m;
  if (alphaScratch.length < width * height) alphaScratch = new Uint8Array(width * height);
  const alpha = alphaScratch;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const border = y === 0 || y === height - 1;
    for (let x = 0; x < width; x++) {
      const i = row + x;
      if (!data[i]) {
        alpha[i] = 0;
        continue;
      }
      const outline = border || x === 0 || x === width - 1 || !data[i - 1] || !data[i + 1] || !data[i - width] || !data[i + width];
      alpha[i] = outline ? edge : fill;
    }
  }
  return alpha;
}

/** `blendOver` of a `MaskOverlay` onto an RGBA frame. */
export function blendMaskOver(frame: FramePixels, m: MaskOverlay): void {
  const { x0, y0, x1, y1 } = coveredRegion(frame, m, m.x, m.y);
  if (x0 >= x1 || y0 >= y1) return;
  const alpha = alphaMap(m);
  const [r, g, b] = m.color;
  const pixels = frame.data;
  for (let y = y0; y < y1; y++) {
    let a = (y - m.y) * m.width + (x0 - m.x);
    let dst = (y * frame.width + x0) * 4;
    for (let x = x0; x < x1; x++, a++, dst += 4) {
      const value = alpha[a] as number;
      if (value === 0) continue;
      pixels[dst] = mix(r, pixels[dst] as number, value);
      pixels[dst + 1] = mix(g, pixels[dst + 1] as number, value);
      pixels[dst + 2] = mix(b, pixels[dst + 2] as number, value);
    }
  }
}

/** `blendOverI420` of a `MaskOverlay`: the same pixels, without the RGBA image. */
export function blendMaskOverI420(frame: FramePixels, m: MaskOverlay): void {
  const { x0, y0, x1, y1 } = coveredRegion(frame, m, m.x, m.y);
  if (x0 >= x1 || y0 >= y1) return;
  const alpha = alphaMap(m);
  const [r, g, b] = m.color;
  const luma = lumaOf(r, g, b);
  const pixels = frame.data;
  for (let y = y0; y < y1; y++) {
    let a = (y - m.y) * m.width + (x0 - m.x);
    let dst = y * frame.width + x0;
    for (let x = x0; x < x1; x++, a++, dst++) {
      const value = alpha[a] as number;
      if (value !== 0) pixels[dst] = mix(luma, pixels[dst] as number, value);
    }
  }
  const { chromaWidth, uOffset, vOffset } = i420Layout(frame.width, frame.height);
  const blue = chromaBlueOf(r, g, b);
  const red = chromaRedOf(r, g, b);
  for (let cy = y0 >> 1; cy <= (y1 - 1) >> 1; cy++) {
    for (let cx = x0 >> 1; cx <= (x1 - 1) >> 1; cx++) {
      let alphaSum = 0;
      for (let y = Math.max(2 * cy, y0); y < Math.min(2 * cy + 2, y1); y++) {
        const row = (y - m.y) * m.width - m.x;
        for (let x = Math.max(2 * cx, x0); x < Math.min(2 * cx + 2, x1); x++) alphaSum += alpha[row + x] as number;
      }
      if (alphaSum === 0) continue;
      // Uncovered samples of the block count as transparent, as in blendOverI420.
      const value = (alphaSum + 2) >> 2;
      const i = cy * chromaWidth + cx;
      pixels[uOffset + i] = mix(blue, pixels[uOffset + i] as number, value);
      pixels[vOffset + i] = mix(red, pixels[vOffset + i] as number, value);
    }
  }
}
