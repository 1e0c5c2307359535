import { i420Layout } from './frame';

/**
 * yuv420p (limited range, BT.601: what ffmpeg's scaler assumes for untagged video and what it produces when asked for
 * RGB) to packed RGB, 3 bytes a pixel. Fixed-point with 16 fractional bits, as swscale's C path; results agree with
 * ffmpeg's `-pix_fmt rgb24` within a level or two. Chroma is nearest-sampled (each 2×2 block shares one U, V), as
 * swscale does by default.
 */
export function i420ToRgb(src: Uint8Array, width: number, height: number, out: Uint8Array = new Uint8Array(width * height * 3)): Uint8Array {
  const { chromaWidth, uOffset, vOffset, byteLength } = i420Layout(width, height);
  if (src.length < byteLength) throw new RangeError(`yuv420p ${width}x${height} needs ${byteLength} bytes, got ${src.length}`);
  if (out.length < width * height * 3) throw new RangeError(`RGB output for ${width}x${height} needs ${width * height * 3} bytes`);
  // 1.164 (Y - 16); 1.596 V; 0.391 U + 0.813 V; 2.018 U; all × 2^16.
  const cy = 76309;
  const crv = 104597;
  const cgu = 25675;
  const cgv = 53279;
  const cbu = 132201;
  const half = 1 << 15;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const chromaRow = (y >> 1) * chromaWidth;
    let o = row * 3;
    for (let x = 0; x < width; x++) {
      const c = chromaRow + (x >> 1);
      const u = src[uOffset + c] - 128;
      const v = src[vOffset + c] - 128;
      const l = (src[row + x] - 16) * cy + half;
      out[o++] = clamp((l + crv * v) >> 16);
      out[o++] = clamp((l - cgu * u - cgv * v) >> 16);
      out[o++] = clamp((l + cbu * u) >> 16);
    }
  }
  return out;
}

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : value;
}
