/** a·x + (1−a)·y for 8-bit a, rounded, without a division. */
function mix(x: number, y: number, alpha: number): number {
  const mixed = x * alpha + y * (255 - alpha) + 128;
  return (mixed + (mixed >> 8)) >> 8;
}

/**
 * Composite a straight-alpha RGBA image (what canvas `getImageData` returns) onto an opaque RGBA frame in place.
 * Working on the frame's bytes rather than through a full-frame canvas avoids copying 2 MB in and out per frame.
 */
export function blendOver(
  frame: Uint8Array,
  frameWidth: number,
  frameHeight: number,
  overlay: Uint8Array | Uint8ClampedArray,
  overlayWidth: number,
  overlayHeight: number,
  left: number,
  top: number,
): void {
  const x0 = Math.max(0, left);
  const y0 = Math.max(0, top);
  const x1 = Math.min(frameWidth, left + overlayWidth);
  const y1 = Math.min(frameHeight, top + overlayHeight);
  for (let y = y0; y < y1; y++) {
    let src = ((y - top) * overlayWidth + (x0 - left)) * 4;
    let dst = (y * frameWidth + x0) * 4;
    for (let x = x0; x < x1; x++, src += 4, dst += 4) {
      const alpha = overlay[src + 3] as number;
      if (alpha === 0) continue;
      if (alpha === 255) {
        frame[dst] = overlay[src] as number;
        frame[dst + 1] = overlay[src + 1] as number;
        frame[dst + 2] = overlay[src + 2] as number;
        continue;
      }
      for (let c = 0; c < 3; c++) frame[dst + c] = mix(overlay[src + c] as number, frame[dst + c] as number, alpha);
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
export function blendOverI420(
  frame: Uint8Array,
  frameWidth: number,
  frameHeight: number,
  overlay: Uint8Array | Uint8ClampedArray,
  overlayWidth: number,
  overlayHeight: number,
  left: number,
  top: number,
): void {
  const x0 = Math.max(0, left);
  const y0 = Math.max(0, top);
  const x1 = Math.min(frameWidth, left + overlayWidth);
  const y1 = Math.min(frameHeight, top + overlayHeight);
  if (x0 >= x1 || y0 >= y1) return;
  for (let y = y0; y < y1; y++) {
    let src = ((y - top) * overlayWidth + (x0 - left)) * 4;
    let dst = y * frameWidth + x0;
    for (let x = x0; x < x1; x++, src += 4, dst++) {
      const alpha = overlay[src + 3] as number;
      if (alpha === 0) continue;
      frame[dst] = mix(lumaOf(overlay[src] as number, overlay[src + 1] as number, overlay[src + 2] as number), frame[dst] as number, alpha);
    }
  }
  const chromaWidth = Math.ceil(frameWidth / 2);
  const uOffset = frameWidth * frameHeight;
  const vOffset = uOffset + chromaWidth * Math.ceil(frameHeight / 2);
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
          const alpha = overlay[src + 3] as number;
          alphaSum += alpha;
          r += (overlay[src] as number) * alpha;
          g += (overlay[src + 1] as number) * alpha;
          b += (overlay[src + 2] as number) * alpha;
        }
      }
      if (alphaSum === 0) continue;
      // Colour is the alpha-weighted mean; coverage counts uncovered samples of the block as transparent.
      const alpha = (alphaSum + 2) >> 2;
      r = Math.round(r / alphaSum);
      g = Math.round(g / alphaSum);
      b = Math.round(b / alphaSum);
      const i = cy * chromaWidth + cx;
      frame[uOffset + i] = mix(chromaBlueOf(r, g, b), frame[uOffset + i] as number, alpha);
      frame[vOffset + i] = mix(chromaRedOf(r, g, b), frame[vOffset + i] as number, alpha);
    }
  }
}
