/**
 * The twin of `torchvision.ops.roi_align` (aligned=False, the CPU kernel in csrc/ops/cpu/roi_align_kernel.cpp), on
 * NHWC feature maps. `MultiScaleRoIAlign` (ops/poolers.py) is ops/poolers.ts, which pools through the atlas here.
 *
 * RoIAlign, exactly as the kernel does it, per RoI and per axis:
 * - start = x1·scale, end = x2·scale (no −0.5 shift: that is aligned=True), size = max(end − start, 1), so tiny,
 *   empty and inverted RoIs all pool a 1×1-pixel region; bin = size / P;
 * - sample k of bin p at start + p·bin + (k + 0.5)·bin/g, g = sampling ratio, so g×g samples per bin;
 * - a sample outside [−1, H] × [−1, W] contributes 0; otherwise it is clamped to ≥ 0, and one at or beyond the
 *   last row/column reads that row/column; bilinear weights from the clamped position;
 * - the bin value is the sum of its samples divided by g·g, even when some samples were outside.
 *
 * `roiAlign` does this with TF.js ops so it runs on every backend, GPU ones included: pad the map with a border
 * that repeats the edge, then `cropAndResize` onto a gP×gP grid whose corner samples are torchvision's first and
 * last samples, zero the samples torchvision's validity test drops (decided on the host, on torchvision's own
 * float32 positions), and average-pool g×g. The border reproduces the clamp for samples in [−1, 0] and
 * [H − 1, H]; the pool's divisor is g·g whatever was zeroed, as in the kernel.
 * What it cannot reproduce bit for bit: cropAndResize takes float32 box corners normalized by the padded size and
 * re-derives every sample from them, so a sample's position carries a float32 rounding of order
 * (its coordinate)·6e-8 pixels — at the far edge of an 800×1088 input's P2 map (272 wide) about 2e-5 px — and the
 * pooled value moves by that times the local gradient of the features. `roiAlignReference` is the kernel
 * transcribed in plain TypeScript with float32 rounding at every step (it matches torchvision bit for bit), for
 * tests and for checking a backend.
 */
import * as tf from '@tensorflow/tfjs-core';

/** `[height, width]` of the pooled output, or one number for a square. */
export type PoolSize = number | readonly [number, number];

export interface RoiAlignOptions {
  /**
   * Samples per bin along each axis (g). torchvision's adaptive mode (sampling_ratio ≤ 0, g = ceil(size / P) per
   * RoI) is not supported: it makes the sample grid RoI-dependent, which one cropAndResize call cannot express, and
   * Mask R-CNN never uses it.
   */
  samplingRatio: number;
  /** Image index of each RoI within the feature batch (torchvision's first RoI column); all 0 when absent. */
  batchIndices?: Int32Array;
}

export const ROI_ALIGN_DEFAULTS: Readonly<RoiAlignOptions> = Object.freeze({ samplingRatio: 2 });

/** A feature map on the host, NHWC. */
export interface HostFeatures {
  data: Float32Array;
  shape: readonly [number, number, number, number];
}

const f32 = Math.fround;

/** The argument checks of `roiAlign`, shared with `multiScaleRoiAlign` (poolers.ts). */
export function poolDims(outputSize: PoolSize): [number, number] {
  const [ph, pw] = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!(Number.isInteger(ph) && Number.isInteger(pw) && ph > 0 && pw > 0)) {
    throw new Error(`roiAlign: output size ${String(outputSize)} must be positive integers`);
  }
  return [ph, pw];
}

export function checkSamplingRatio(samplingRatio: number): void {
  if (!(Number.isInteger(samplingRatio) && samplingRatio > 0)) {
    throw new Error(
      `roiAlign: sampling ratio ${samplingRatio} is not supported; use a positive integer (Mask R-CNN uses 2)`,
    );
  }
}

export function checkBoxes(boxes: Float32Array, batchIndices: Int32Array | undefined, batch: number): number {
  if (boxes.length % 4 !== 0) throw new Error(`roiAlign: boxes hold ${boxes.length} numbers, not a multiple of 4`);
  const k = boxes.length / 4;
  if (batchIndices !== undefined) {
    if (batchIndices.length !== k) throw new Error(`roiAlign: ${k} boxes but ${batchIndices.length} batch indices`);
    for (const b of batchIndices) {
      if (!(b >= 0 && b < batch)) throw new Error(`roiAlign: batch index ${b} outside a batch of ${batch}`);
    }
  }
  return k;
}

/** One axis of one RoI in feature coordinates, rounded as the kernel's float32 `T` arithmetic rounds it. */
interface AxisGrid {
  start: number;
  bin: number;
}

function axisGrid(lo: number, hi: number, scale: number, pooled: number): AxisGrid {
  const start = f32(lo * scale);
  const end = f32(hi * scale);
  const size = Math.max(f32(end - start), 1);
  return { start, bin: f32(size / pooled) };
}

/** `roi_start + p·bin + (k + 0.5)·bin / g`, left to right in float32, as the kernel evaluates it. */
function samplePosition(grid: AxisGrid, p: number, k: number, g: number): number {
  return f32(f32(grid.start + f32(p * grid.bin)) + f32(f32((k + 0.5) * grid.bin) / g));
}

/**
 * Per-axis bilinear taps of the kernel's `pre_calc_for_bilinear_interpolate`: the two indices and weights along one
 * axis for each of the P·g sample positions, or `valid = 0` for a sample outside [−1, size].
 */
interface AxisTaps {
  valid: Uint8Array;
  low: Int32Array;
  high: Int32Array;
  /** Weight of `high` (ly / lx) and of `low` (hy / hx). */
  lHigh: Float32Array;
  lLow: Float32Array;
}

function axisTaps(grid: AxisGrid, pooled: number, g: number, size: number): AxisTaps {
  const n = pooled * g;
  const taps: AxisTaps = {
    valid: new Uint8Array(n),
    low: new Int32Array(n),
    high: new Int32Array(n),
    lHigh: new Float32Array(n),
    lLow: new Float32Array(n),
  };
  for (let p = 0; p < pooled; p++) {
    for (let k = 0; k < g; k++) {
      const s = p * g + k;
      let v = samplePosition(grid, p, k, g);
      if (!(v >= -1 && v <= size)) continue;
      if (v <= 0) v = 0;
      let low = Math.trunc(v);
      let high: number;
      if (low >= size - 1) {
        high = low = size - 1;
        v = low;
      } else {
        high = low + 1;
      }
      const l = f32(v - low);
      taps.valid[s] = 1;
      taps.low[s] = low;
      taps.high[s] = high;
      taps.lHigh[s] = l;
      taps.lLow[s] = f32(1 - l);
    }
  }
  return taps;
}

/**
 * The CPU kernel in plain TypeScript, float32 at every step in its order: `[K, ph, pw, C]` NHWC. Slow (one JS loop
 * per channel and sample) and meant for tests and small inputs.
 */
export function roiAlignReference(
  features: HostFeatures,
  boxes: Float32Array,
  outputSize: PoolSize,
  spatialScale: number,
  options: RoiAlignOptions = ROI_ALIGN_DEFAULTS,
): Float32Array {
  const [ph, pw] = poolDims(outputSize);
  const g = options.samplingRatio;
  checkSamplingRatio(g);
  const [batch, height, width, channels] = features.shape;
  const k = checkBoxes(boxes, options.batchIndices, batch);
  const scale = f32(spatialScale);
  const count = g * g;
  const out = new Float32Array(k * ph * pw * channels);
  const acc = new Float32Array(channels);
  const data = features.data;
  for (let r = 0; r < k; r++) {
    const base = (options.batchIndices?.[r] ?? 0) * height * width * channels;
    const ys = axisTaps(axisGrid(boxes[r * 4 + 1], boxes[r * 4 + 3], scale, ph), ph, g, height);
    const xs = axisTaps(axisGrid(boxes[r * 4], boxes[r * 4 + 2], scale, pw), pw, g, width);
    for (let i = 0; i < ph; i++) {
      for (let j = 0; j < pw; j++) {
        acc.fill(0);
        for (let iy = i * g; iy < (i + 1) * g; iy++) {
          for (let ix = j * g; ix < (j + 1) * g; ix++) {
            // An outside sample has all-zero weights in the kernel: it adds nothing.
            if (!ys.valid[iy] || !xs.valid[ix]) continue;
            const hy = ys.lLow[iy];
            const ly = ys.lHigh[iy];
            const hx = xs.lLow[ix];
            const lx = xs.lHigh[ix];
            const w1 = f32(hy * hx);
            const w2 = f32(hy * lx);
            const w3 = f32(ly * hx);
            const w4 = f32(ly * lx);
            const p1 = base + (ys.low[iy] * width + xs.low[ix]) * channels;
            const p2 = base + (ys.low[iy] * width + xs.high[ix]) * channels;
            const p3 = base + (ys.high[iy] * width + xs.low[ix]) * channels;
            const p4 = base + (ys.high[iy] * width + xs.high[ix]) * channels;
            for (let c = 0; c < channels; c++) {
              const v = f32(
                f32(f32(f32(w1 * data[p1 + c]) + f32(w2 * data[p2 + c])) + f32(w3 * data[p3 + c])) +
                  f32(w4 * data[p4 + c]),
              );
              // The Float32Array store rounds the sum, as the kernel's float accumulator does.
              acc[c] += v;
            }
          }
        }
        const o = ((r * ph + i) * pw + j) * channels;
        for (let c = 0; c < channels; c++) out[o + c] = acc[c] / count;
      }
    }
  }
  return out;
}

/** Pixels of border around each map in the atlas; see `cropGrid` for why two. */
const PAD = 2;

/**
 * All pooled levels in one tensor, so that one cropAndResize call pools every RoI from its own level and the rows
 * come out in the RoIs' order (torchvision writes per-level results back with an index copy; a TF.js gather of
 * the pooled rows costs more than the pooling on wasm). Level 0 sits on top, the others side by side below it,
 * each with a `PAD`-pixel border that repeats its edge and zeros between them: `[N, atlasH, atlasW, C]`.
 */
export interface Atlas {
  tensor: tf.Tensor4D;
  /** Atlas row and column of each level's pixel (0, 0). */
  origins: [number, number][];
  /** Each level's unpadded `[h, w]`. */
  sizes: [number, number][];
}

/**
 * Adds `PAD` pixels of border on every side: `[N, H + 4, W + 4, C]`. 'symmetric' mirroring repeats the edge pixel,
 * so the first border pixel is the edge itself: samples in [−1, 0] and [H − 1, H] read exactly the clamped edge, as
 * in torchvision. The outer pixel (the next one mirrored) is only read by samples the validity mask zeroes, or with
 * a weight of the order of cropAndResize's rounding for samples right on −1 or H.
 */
function padBorder(features: tf.Tensor4D): tf.Tensor4D {
  return tf.mirrorPad(
    features,
    [
      [0, 0],
      [PAD, PAD],
      [PAD, PAD],
      [0, 0],
    ],
    'symmetric',
  );
}

/** Zero-pads the bottom and right of `x` up to `height × width`. */
function padTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === height && w === width) return x;
  return tf.pad(x, [
    [0, 0],
    [0, height - h],
    [0, width - w],
    [0, 0],
  ]);
}

export function buildAtlas(features: readonly tf.Tensor4D[]): Atlas {
  const sizes = features.map((level): [number, number] => [level.shape[1], level.shape[2]]);
  const [h0, w0] = sizes[0];
  const origins: [number, number][] = [[PAD, PAD]];
  let rowWidth = 0;
  let rowHeight = 0;
  for (const [h, w] of sizes.slice(1)) {
    origins.push([h0 + 2 * PAD + PAD, rowWidth + PAD]);
    rowWidth += w + 2 * PAD;
    rowHeight = Math.max(rowHeight, h + 2 * PAD);
  }
  const width = Math.max(w0 + 2 * PAD, rowWidth);
  const top = padTo(padBorder(features[0]), h0 + 2 * PAD, width);
  if (features.length === 1) return { tensor: top, origins, sizes };
  const row = features.slice(1).map((level) => {
    const padded = padBorder(level);
    return padTo(padded, rowHeight, padded.shape[2]);
  });
  const bottom = padTo(row.length === 1 ? row[0] : tf.concat(row, 2), rowHeight, width);
  return { tensor: tf.concat([top, bottom], 1), origins, sizes };
}

/** What one cropAndResize call needs for a set of RoIs. */
interface CropGrid {
  /** Per RoI `[y1, x1, y2, x2]` normalized on the atlas. */
  boxes: Float32Array;
  /** 1 where torchvision would sample (inside [−1, size]), 0 where its sample contributes 0; `[K, gP]` per axis. */
  validY: Float32Array;
  validX: Float32Array;
  allValid: boolean;
}

/**
 * The crop for each RoI on its level in the atlas: corners normalized so that the crop's first and last grid
 * points are torchvision's first and last sample positions (the points in between are equally spaced by bin/g in
 * both), and the kernel's validity test evaluated on torchvision's own float32 sample positions. A level of −1
 * (a RoI no level takes) gets no valid sample.
 *
 * The validity test is done here rather than left to cropAndResize's extrapolation because it is a discontinuity:
 * a sample exactly on −1 or H (a 1-pixel RoI at the border lands there) is valid in torchvision, and cropAndResize's
 * re-derived position, a few 1e-6 px off, could fall either side. With two pixels of border, the band beyond the
 * valid range reads the border or a neighbouring level, and the mask zeroes exactly the samples torchvision drops.
 */
function cropGrid(
  atlas: Atlas,
  boxes: Float32Array,
  levels: Int32Array,
  scales: readonly number[],
  ph: number,
  pw: number,
  g: number,
): CropGrid {
  const k = boxes.length / 4;
  const out = new Float32Array(k * 4);
  const validY = new Float32Array(k * ph * g);
  const validX = new Float32Array(k * pw * g);
  let allValid = true;
  // cropAndResize maps normalized 0..1 to atlas pixel 0..(size − 1).
  const ny = atlas.tensor.shape[1] - 1;
  const nx = atlas.tensor.shape[2] - 1;
  const axis = (grid: AxisGrid, pooled: number, size: number, valid: Float32Array, r: number): void => {
    for (let p = 0; p < pooled; p++) {
      for (let i = 0; i < g; i++) {
        const v = samplePosition(grid, p, i, g);
        const inside = size > 0 && v >= -1 && v <= size;
        valid[(r * pooled + p) * g + i] = inside ? 1 : 0;
        allValid &&= inside;
      }
    }
  };
  for (let r = 0; r < k; r++) {
    const level = Math.max(levels[r], 0);
    const [oy, ox] = atlas.origins[level];
    const [h, w] = levels[r] < 0 ? [0, 0] : atlas.sizes[level];
    const gy = axisGrid(boxes[r * 4 + 1], boxes[r * 4 + 3], f32(scales[level]), ph);
    const gx = axisGrid(boxes[r * 4], boxes[r * 4 + 2], f32(scales[level]), pw);
    // A 1-sample axis makes cropAndResize take the centre of the box, so both ends are that one sample.
    out[r * 4] = (samplePosition(gy, 0, 0, g) + oy) / ny;
    out[r * 4 + 1] = (samplePosition(gx, 0, 0, g) + ox) / nx;
    out[r * 4 + 2] = (samplePosition(gy, ph - 1, g - 1, g) + oy) / ny;
    out[r * 4 + 3] = (samplePosition(gx, pw - 1, g - 1, g) + ox) / nx;
    axis(gy, ph, h, validY, r);
    axis(gx, pw, w, validX, r);
    avoidCopyShortcut(out, r, pw * g, nx);
  }
  return { boxes: out, validY, validX, allValid };
}

const bitsOf = new Uint32Array(1);
const floatOf = new Float32Array(bitsOf.buffer);

/**
 * tfjs-backend-wasm 4.22's CropAndResize copies whole rows instead of interpolating when a crop's samples are
 * exactly one pixel apart along x and land on whole pixels (its "memcpy" shortcut), and that copy starts at
 * column 0 rather than at the crop's first column: such a RoI (2P feature pixels wide, starting on a half pixel)
 * would pool the wrong features. The shortcut requires `cropWidth == 1 + (x2 − x1)·(W − 1)` in float32, so moving
 * x2 up by one float32 ULP (about 1e-5 px on the last sample, below the method's own rounding) rules it out.
 */
function avoidCopyShortcut(boxes: Float32Array, r: number, cropWidth: number, widthM1: number): void {
  const x1 = boxes[r * 4 + 1];
  if (cropWidth < 2 || !(x1 >= 0)) return;
  while (f32(1 + f32(f32(boxes[r * 4 + 3] - x1) * widthM1)) === cropWidth) {
    floatOf[0] = boxes[r * 4 + 3];
    bitsOf[0] += 1;
    boxes[r * 4 + 3] = floatOf[0];
  }
}

/**
 * tfjs-backend-wasm 4.22's CropAndResize computes each element's offset in float32, which cannot hold every
 * integer above 2^24: on a larger input (an 800x1088 image's atlas is 21.8 M elements) reads land on a neighbouring
 * channel. Cropping channel slices that stay below 2^24 elements and concatenating them gives the exact result;
 * other backends index in integers and take the input whole.
 */
const WASM_EXACT_INDEX_LIMIT = 2 ** 24;

function cropAndResizeExact(image: tf.Tensor4D, boxes: tf.Tensor2D, indices: tf.Tensor1D, size: [number, number]): tf.Tensor4D {
  const [batch, height, width, channels] = image.shape;
  const crop = (input: tf.Tensor4D): tf.Tensor4D => tf.image.cropAndResize(input, boxes, indices, size, 'bilinear', 0);
  if (tf.getBackend() !== 'wasm' || image.size < WASM_EXACT_INDEX_LIMIT) return crop(image);
  const step = Math.floor((WASM_EXACT_INDEX_LIMIT - 1) / (batch * height * width));
  if (step < 1) throw new Error(`cropAndResize: a ${batch}x${height}x${width} map is too large for the wasm backend`);
  const parts: tf.Tensor4D[] = [];
  for (let start = 0; start < channels; start += step) {
    parts.push(crop(tf.slice(image, [0, 0, 0, start], [batch, height, width, Math.min(step, channels - start)])));
  }
  return tf.concat(parts, 3);
}

/** Pools every RoI from its level of the atlas: `[K, ph, pw, C]` in the RoIs' order. */
export function poolAtlas(
  atlas: Atlas,
  boxes: Float32Array,
  levels: Int32Array,
  scales: readonly number[],
  ph: number,
  pw: number,
  g: number,
  batchIndices: Int32Array | undefined,
): tf.Tensor4D {
  const k = boxes.length / 4;
  const grid = cropGrid(atlas, boxes, levels, scales, ph, pw, g);
  return tf.tidy(() => {
    let samples = cropAndResizeExact(
      atlas.tensor,
      tf.tensor2d(grid.boxes, [k, 4]),
      tf.tensor1d(batchIndices ?? new Int32Array(k), 'int32'),
      [ph * g, pw * g],
    );
    // RoIs inside the image sample outside their map only when sub-pixel and at the far border (their size is
    // forced to 1), so the multiply is usually skipped.
    if (!grid.allValid) {
      const mask = tf.mul(tf.tensor4d(grid.validY, [k, ph * g, 1, 1]), tf.tensor4d(grid.validX, [k, 1, pw * g, 1]));
      samples = tf.mul(samples, mask);
    }
    // The average of g×g samples is their sum over g·g, valid or not: torchvision's fixed divisor.
    return g === 1 ? samples : tf.avgPool(samples, [g, g], [g, g], 'valid');
  });
}

/**
 * `roi_align(features, rois, P, spatial_scale, sampling_ratio, aligned=False)` on an NHWC map: boxes `[K·4]` flat in
 * input-image coordinates; returns `[K, ph, pw, C]`.
 */
export function roiAlign(
  features: tf.Tensor4D,
  boxes: Float32Array,
  outputSize: PoolSize,
  spatialScale: number,
  options: RoiAlignOptions = ROI_ALIGN_DEFAULTS,
): tf.Tensor4D {
  const [ph, pw] = poolDims(outputSize);
  checkSamplingRatio(options.samplingRatio);
  const [batch, , , channels] = features.shape;
  const k = checkBoxes(boxes, options.batchIndices, batch);
  if (k === 0) return tf.zeros([0, ph, pw, channels]);
  return tf.tidy(() =>
    poolAtlas(
      buildAtlas([features]),
      boxes,
      new Int32Array(k),
      [spatialScale],
      ph,
      pw,
      options.samplingRatio,
      options.batchIndices,
    ),
  );
}
