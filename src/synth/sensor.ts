/**
 * What the camera adds on top of the scene: sensor noise and, now and then, a little blur. Deterministic: the noise
 * comes from its own seed, so a scene rendered twice (or rendered without one object, as the tests do) gets the
 * very same grain.
 */

/** 256 evenly spaced quantiles of the standard normal distribution: a byte of randomness becomes a normal draw. */
const NORMAL_QUANTILES = (() => {
  const table = new Float64Array(256);
  for (let i = 0; i < 256; i++) table[i] = inverseNormal((i + 0.5) / 256);
  return table;
})();

/** Acklam's rational approximation of the normal quantile function; far more precise than 8-bit pixels need. */
function inverseNormal(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628274631];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q = Math.min(p, 1 - p);
  let x: number;
  if (q < 0.02425) {
    const r = Math.sqrt(-2 * Math.log(q));
    x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
    x = -x;
  } else {
    const r = q - 0.5;
    const s = r * r;
    x = ((((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r) / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
  }
  return p < 0.5 ? x : -x;
}

/**
 * Adds roughly Gaussian noise of deviation `sigma` levels to an opaque RGBA image in place: one part shared by
 * the three channels (luminance grain) and one part per channel (colour grain).
 */
export function addNoise(rgba: Uint8Array, sigma: number, seed: number): void {
  if (sigma <= 0) return;
  const shared = new Int16Array(256);
  const own = new Int16Array(256);
  for (let i = 0; i < 256; i++) {
    shared[i] = Math.round(NORMAL_QUANTILES[i] * sigma * 0.8 * 16);
    own[i] = Math.round(NORMAL_QUANTILES[i] * sigma * 0.6 * 16);
  }
  let state = seed >>> 0 || 0x1234567;
  for (let i = 0; i < rgba.length; i += 4) {
    // xorshift32: one 32-bit draw gives the four bytes a pixel needs.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const bits = state >>> 0;
    const common = shared[bits & 255];
    rgba[i] = clampByte(rgba[i] + ((common + own[(bits >>> 8) & 255]) >> 4));
    rgba[i + 1] = clampByte(rgba[i + 1] + ((common + own[(bits >>> 16) & 255]) >> 4));
    rgba[i + 2] = clampByte(rgba[i + 2] + ((common + own[bits >>> 24]) >> 4));
  }
}

function clampByte(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/**
 * A box blur of the colour channels, `radiusX` pixels each way horizontally and `radiusY` vertically (0 leaves an
 * axis alone): defocus when both are 1, horizontal motion blur when only radiusX is set.
 */
export function boxBlur(rgba: Uint8Array, width: number, height: number, radiusX: number, radiusY: number): void {
  const scratch = new Uint8Array(rgba.length);
  if (radiusX > 0) {
    blurLines(rgba, scratch, height, width * 4, 4, width, radiusX);
    rgba.set(scratch);
  }
  if (radiusY > 0) {
    blurLines(rgba, scratch, width, 4, width * 4, height, radiusY);
    rgba.set(scratch);
  }
}

/**
 * Blurs `lines` lines of `length` pixels: line k starts at byte k * lineStride and its pixels lie `step` bytes
 * apart. A running sum makes the cost independent of the radius; edges repeat the end pixel.
 */
function blurLines(src: Uint8Array, dst: Uint8Array, lines: number, lineStride: number, step: number, length: number, radius: number): void {
  const span = 2 * radius + 1;
  for (let line = 0; line < lines; line++) {
    const base = line * lineStride;
    for (let channel = 0; channel < 3; channel++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += src[base + Math.min(length - 1, Math.max(0, k)) * step + channel];
      for (let i = 0; i < length; i++) {
        dst[base + i * step + channel] = (sum + (span >> 1)) / span;
        const leaving = Math.max(0, i - radius);
        const entering = Math.min(length - 1, i + radius + 1);
        sum += src[base + entering * step + channel] - src[base + leaving * step + channel];
      }
    }
    for (let i = 0; i < length; i++) dst[base + i * step + 3] = src[base + i * step + 3];
  }
}
