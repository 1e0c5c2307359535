/**
 * The twin of `torchvision.ops.MultiScaleRoIAlign` (ops/poolers.py: `_infer_scale`, `LevelMapper`,
 * `MultiScaleRoIAlign`), on NHWC feature maps: each RoI is pooled from the FPN level eq. 1 assigns it. The pooling
 * itself is roi-align.ts's, all levels at once through its atlas.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type PoolSize, buildAtlas, checkBoxes, checkSamplingRatio, poolAtlas, poolDims } from './roi-align';

const f32 = Math.fround;

export interface MultiScaleRoiAlignConfig {
  samplingRatio: number;
  /** FPN eq. 1: a canonicalScale × canonicalScale RoI maps to level canonicalLevel. */
  canonicalScale: number;
  canonicalLevel: number;
  /** Added before flooring the level, so a side of exactly 112 or 224 lands on the upper level despite rounding. */
  eps: number;
}

/** `MultiScaleRoIAlign(['0', '1', '2', '3'], P, 2)` as Mask R-CNN builds both of its poolers. */
export const MULTI_SCALE_ROI_ALIGN_DEFAULTS: Readonly<MultiScaleRoiAlignConfig> = Object.freeze({
  samplingRatio: 2,
  canonicalScale: 224,
  canonicalLevel: 4,
  eps: 1e-6,
});

export interface MultiScaleRoiAlignOptions extends Partial<MultiScaleRoiAlignConfig> {
  batchIndices?: Int32Array;
}

/**
 * `_infer_scale`: the power of two nearest to featureHeight / imageHeight (torchvision looks at the height only).
 * The ratio and its log2 are float32 tensors there, and torch.round rounds halves to even.
 */
export function inferScale(featureHeight: number, imageHeight: number): number {
  const log = f32(Math.log2(f32(featureHeight / imageHeight)));
  const floor = Math.floor(log);
  const diff = log - floor;
  const rounded = diff < 0.5 ? floor : diff > 0.5 ? floor + 1 : floor % 2 === 0 ? floor : floor + 1;
  return 2 ** rounded;
}

/**
 * `LevelMapper`: FPN eq. 1, `k = floor(canonicalLevel + log2(sqrt(area) / canonicalScale) + eps)` clamped to
 * [kMin, kMax], returned as `k − kMin` (an index into the pooled levels). float32 at every step, as torch computes
 * it. A box with negative area (inverted along one axis) has a NaN level in torchvision, which matches no level
 * and leaves its output at zero; it is −1 here and gets the same zeros.
 */
export function mapLevels(
  boxes: Float32Array,
  kMin: number,
  kMax: number,
  config: Pick<MultiScaleRoiAlignConfig, 'canonicalScale' | 'canonicalLevel' | 'eps'> = MULTI_SCALE_ROI_ALIGN_DEFAULTS,
): Int32Array {
  const k = boxes.length / 4;
  const levels = new Int32Array(k);
  const eps = f32(config.eps);
  for (let r = 0; r < k; r++) {
    const area = f32(f32(boxes[r * 4 + 2] - boxes[r * 4]) * f32(boxes[r * 4 + 3] - boxes[r * 4 + 1]));
    const side = f32(Math.sqrt(area));
    const target = f32(f32(config.canonicalLevel + f32(Math.log2(f32(side / config.canonicalScale)))) + eps);
    const level = Math.min(Math.max(Math.floor(target), kMin), kMax);
    levels[r] = Number.isNaN(target) ? -1 : level - kMin;
  }
  return levels;
}

/**
 * `MultiScaleRoIAlign` over the FPN levels in `features` (NHWC, finest first; Mask R-CNN passes '0'..'3', not
 * 'pool'). `boxes` `[K·4]` are in resized-image coordinates; `imageSize` is the `[h, w]` torchvision infers the
 * scales from: the largest resized, unpadded image size in the batch. Each RoI is pooled from the level FPN eq. 1
 * assigns it, and the results come back in the RoIs' order: `[K, ph, pw, C]`.
 *
 * torchvision infers the scales on its first call and caches them in the module; they are recomputed here on every
 * call, which differs only if a later batch's size would round to different powers of two (never, for inputs the
 * transform produces: the scales are always 1/4 … 1/32).
 */
export function multiScaleRoiAlign(
  features: readonly tf.Tensor4D[],
  boxes: Float32Array,
  imageSize: readonly [number, number],
  outputSize: PoolSize,
  options: MultiScaleRoiAlignOptions = {},
): tf.Tensor4D {
  const config = { ...MULTI_SCALE_ROI_ALIGN_DEFAULTS, ...options };
  const [ph, pw] = poolDims(outputSize);
  checkSamplingRatio(config.samplingRatio);
  if (features.length === 0) throw new Error('multiScaleRoiAlign: no feature maps');
  const [batch, , , channels] = features[0].shape;
  for (const level of features) {
    if (level.shape[0] !== batch || level.shape[3] !== channels) {
      throw new Error(`multiScaleRoiAlign: levels differ in batch or channels: ${JSON.stringify(level.shape)}`);
    }
  }
  const k = checkBoxes(boxes, options.batchIndices, batch);
  if (k === 0) return tf.zeros([0, ph, pw, channels]);
  const scales = features.map((level) => inferScale(level.shape[1], imageSize[0]));
  // torchvision skips the level mapper when there is one level; every RoI then pools from it.
  let levels: Int32Array = new Int32Array(k);
  if (features.length > 1) {
    const kMin = Math.trunc(-Math.log2(scales[0]));
    const kMax = Math.trunc(-Math.log2(scales[scales.length - 1]));
    levels = mapLevels(boxes, kMin, kMax, config);
  }
  return tf.tidy(() =>
    poolAtlas(buildAtlas(features), boxes, levels, scales, ph, pw, config.samplingRatio, options.batchIndices),
  );
}
