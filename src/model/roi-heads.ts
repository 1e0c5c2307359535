/**
 * The twin of torchvision's `models/detection/roi_heads.py` at inference (v1 heads): MultiScaleRoIAlign → TwoMLPHead
 * → FastRCNNPredictor → postprocess_detections, then MultiScaleRoIAlign → MaskRCNNHeads → MaskRCNNPredictor and the
 * per-class mask selection. One image; boxes in resized-image coordinates.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FeatureMaps } from './fpn';
import type { Size2D } from './ops/anchors';
import { BOX_CODER_DEFAULTS, decodeBoxes } from './ops/box-coder';
import { type Conv, disposeConv, loadBiasedConv, runConv } from './ops/misc';
import { batchedNms } from './ops/nms';
import { multiScaleRoiAlign } from './ops/poolers';
import { type WeightLookup, requireWeight } from './state-dict';

export interface RoiHeadsConfig {
  /** Candidates must score strictly above this (`box_score_thresh`). */
  scoreThreshold: number;
  /** Per-class NMS IoU (`box_nms_thresh`). */
  nmsThreshold: number;
  /** `box_detections_per_img`. */
  detectionsPerImage: number;
  /** Boxes narrower or lower than this are dropped. */
  minSize: number;
  boxPoolSize: number;
  maskPoolSize: number;
}

export const ROI_HEADS_DEFAULTS: Readonly<RoiHeadsConfig> = Object.freeze({
  scoreThreshold: 0.05,
  nmsThreshold: 0.5,
  detectionsPerImage: 100,
  minSize: 1e-2,
  boxPoolSize: 7,
  maskPoolSize: 14,
});

/** The pooled levels: Mask R-CNN's MultiScaleRoIAlign reads '0'..'3', never 'pool'. */
const POOLED_LEVELS = ['0', '1', '2', '3'];

interface Linear {
  /** `[in, out]`: PyTorch's `[out, in]` transposed, so that `x · W` is its `x · Wᵀ`. */
  weight: tf.Tensor2D;
  bias: tf.Tensor1D;
}

function loadLinear(lookup: WeightLookup, key: string): Linear {
  const weight = requireWeight(lookup, `${key}.weight`);
  const bias = requireWeight(lookup, `${key}.bias`, [weight.shape[0]]);
  return tf.tidy(() => ({ weight: tf.transpose(weight as tf.Tensor2D), bias: tf.clone(bias) as tf.Tensor1D }));
}

/**
 * fc6 reads the pooled `[C, 7, 7]` block flattened channel-major (`c·49 + y·7 + x`); pooled features here are NHWC
 * (`(y·7 + x)·C + c`), so the weight's columns are permuted once instead of transposing every RoI's features.
 */
function loadFc6(lookup: WeightLookup, key: string, channels: number, pool: number): Linear {
  const weight = requireWeight(lookup, `${key}.weight`);
  const bias = requireWeight(lookup, `${key}.bias`, [weight.shape[0]]);
  const out = weight.shape[0] as number;
  return tf.tidy(() => ({
    weight: tf.transpose(tf.reshape(tf.transpose(tf.reshape(weight, [out, channels, pool, pool]), [0, 2, 3, 1]), [out, pool * pool * channels])) as tf.Tensor2D,
    bias: tf.clone(bias) as tf.Tensor1D,
  }));
}

function runLinear(x: tf.Tensor2D, linear: Linear, relu: boolean): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: linear.weight, bias: linear.bias, activation: relu ? 'relu' : 'linear' }) as tf.Tensor2D;
}

function disposeLinear(linear: Linear): void {
  linear.weight.dispose();
  linear.bias.dispose();
}

export interface Detections {
  /** `[D·4]` in resized-image coordinates, best first. */
  boxes: Float32Array;
  scores: Float32Array;
  /** Class indices, 1..numClasses-1. */
  labels: Int32Array;
}

export class RoiHeads {
  readonly numClasses: number;
  private readonly fc6: Linear;
  private readonly fc7: Linear;
  private readonly classifier: Linear;
  private readonly regressor: Linear;
  private readonly maskConvs: Conv[];
  /** ConvTranspose2d 2x2/2 as a conv2dTranspose filter `[2, 2, out, in]`, and its bias. */
  private readonly upsample: { filter: tf.Tensor4D; bias: tf.Tensor1D };
  private readonly maskLogits: Conv;
  private disposed = false;

  constructor(
    lookup: WeightLookup,
    channels: number,
    private readonly config: Readonly<RoiHeadsConfig> = ROI_HEADS_DEFAULTS,
  ) {
    const linears: Linear[] = [];
    const convs: Conv[] = [];
    try {
      this.fc6 = loadFc6(lookup, 'roi_heads.box_head.fc6', channels, config.boxPoolSize);
      linears.push(this.fc6);
      this.fc7 = loadLinear(lookup, 'roi_heads.box_head.fc7');
      linears.push(this.fc7);
      this.classifier = loadLinear(lookup, 'roi_heads.box_predictor.cls_score');
      linears.push(this.classifier);
      this.regressor = loadLinear(lookup, 'roi_heads.box_predictor.bbox_pred');
      linears.push(this.regressor);
      this.numClasses = this.classifier.weight.shape[1];
      this.maskConvs = [];
      for (let i = 0; i === 0 || lookup(`roi_heads.mask_head.${i}.0.weight`) !== undefined; i++) {
        const conv = loadBiasedConv(lookup, `roi_heads.mask_head.${i}.0`, 3);
        convs.push(conv);
        this.maskConvs.push(conv);
      }
      const weight = requireWeight(lookup, 'roi_heads.mask_predictor.conv5_mask.weight');
      const bias = requireWeight(lookup, 'roi_heads.mask_predictor.conv5_mask.bias', [weight.shape[1]]);
      this.upsample = tf.tidy(() => ({ filter: tf.transpose(weight as tf.Tensor4D, [2, 3, 1, 0]), bias: tf.clone(bias) as tf.Tensor1D }));
      this.maskLogits = loadBiasedConv(lookup, 'roi_heads.mask_predictor.mask_fcn_logits', 1);
    } catch (error) {
      linears.forEach(disposeLinear);
      convs.forEach(disposeConv);
      throw error;
    }
  }

  private pooled(features: FeatureMaps): tf.Tensor4D[] {
    return POOLED_LEVELS.map((name) => {
      const level = features[name];
      if (!level) throw new Error(`RoiHeads: FPN level '${name}' is missing`);
      return level;
    });
  }

  /** Box branch and `postprocess_detections` for one image. */
  async detect(features: FeatureMaps, proposals: Float32Array, imageSize: Size2D): Promise<Detections> {
    if (this.disposed) throw new Error('RoiHeads: used after dispose()');
    const count = proposals.length / 4;
    if (count === 0) return { boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) };
    const [decoded, probabilities] = tf.tidy(() => {
      const pooled = multiScaleRoiAlign(this.pooled(features), proposals, imageSize, this.config.boxPoolSize);
      const flat = tf.reshape(pooled, [count, -1]) as tf.Tensor2D;
      const hidden = runLinear(runLinear(flat, this.fc6, true), this.fc7, true);
      const logits = runLinear(hidden, this.classifier, false);
      const deltas = runLinear(hidden, this.regressor, false);
      return [decodeBoxes(deltas, tf.tensor2d(proposals, [count, 4]), BOX_CODER_DEFAULTS.roiHeadsWeights), tf.softmax(logits)];
    });
    const boxes = (await decoded.data()) as Float32Array;
    const scores = (await probabilities.data()) as Float32Array;
    decoded.dispose();
    probabilities.dispose();
    return postprocessDetections(boxes, scores, count, this.numClasses, imageSize, this.config);
  }

  /** Mask branch: each detection's `M x M` probabilities for its own class, `[D·M·M]` (M = 2 x the mask pool). */
  async masks(features: FeatureMaps, detections: Detections, imageSize: Size2D): Promise<Float32Array> {
    if (this.disposed) throw new Error('RoiHeads: used after dispose()');
    const count = detections.scores.length;
    if (count === 0) return new Float32Array(0);
    const selected = tf.tidy(() => {
      let x = multiScaleRoiAlign(this.pooled(features), detections.boxes, imageSize, this.config.maskPoolSize);
      for (const conv of this.maskConvs) x = runConv(x, conv, true);
      const size = x.shape[1] * 2;
      const upsampled = tf.relu(
        tf.add(tf.conv2dTranspose(x, this.upsample.filter, [count, size, size, this.upsample.filter.shape[2]], 2, 'valid'), this.upsample.bias),
      ) as tf.Tensor4D;
      const probabilities = tf.sigmoid(runConv(upsampled, this.maskLogits, false));
      // [D, M, M, classes] -> [D·classes, M, M], then each detection's own class.
      const byClass = tf.reshape(tf.transpose(probabilities, [0, 3, 1, 2]), [count * this.numClasses, size, size]);
      const rows = Int32Array.from(detections.labels, (label, d) => d * this.numClasses + label);
      return tf.gather(byClass, tf.tensor1d(rows, 'int32'));
    });
    const values = (await selected.data()) as Float32Array;
    selected.dispose();
    return values;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    [this.fc6, this.fc7, this.classifier, this.regressor].forEach(disposeLinear);
    this.maskConvs.forEach(disposeConv);
    this.upsample.filter.dispose();
    this.upsample.bias.dispose();
    disposeConv(this.maskLogits);
  }
}

/**
 * `postprocess_detections` for one image: decoded `boxes` `[K·C·4]` and softmax `scores` `[K·C]` (proposal-major,
 * class-minor) to clipped, thresholded, per-class-NMSed, top-n detections. Clip, drop background, score threshold,
 * small boxes, NMS, in torchvision's order. Shared by both engines: this is host work.
 */
export function postprocessDetections(
  boxes: Float32Array,
  scores: Float32Array,
  count: number,
  numClasses: number,
  imageSize: Size2D,
  config: Readonly<RoiHeadsConfig> = ROI_HEADS_DEFAULTS,
): Detections {
  const [height, width] = imageSize;
  const candidateBoxes: number[] = [];
  const candidateScores: number[] = [];
  const candidateLabels: number[] = [];
  for (let i = 0; i < count; i++) {
    for (let label = 1; label < numClasses; label++) {
      const score = scores[i * numClasses + label] as number;
      if (!(score > config.scoreThreshold)) continue;
      const at = (i * numClasses + label) * 4;
      const x1 = Math.min(Math.max(boxes[at] as number, 0), width);
      const y1 = Math.min(Math.max(boxes[at + 1] as number, 0), height);
      const x2 = Math.min(Math.max(boxes[at + 2] as number, 0), width);
      const y2 = Math.min(Math.max(boxes[at + 3] as number, 0), height);
      if (x2 - x1 < config.minSize || y2 - y1 < config.minSize) continue;
      candidateBoxes.push(x1, y1, x2, y2);
      candidateScores.push(score);
      candidateLabels.push(label);
    }
  }
  const kept = batchedNms(Float32Array.from(candidateBoxes), Float32Array.from(candidateScores), candidateLabels, config.nmsThreshold);
  const total = Math.min(kept.length, config.detectionsPerImage);
  const result: Detections = { boxes: new Float32Array(total * 4), scores: new Float32Array(total), labels: new Int32Array(total) };
  for (let d = 0; d < total; d++) {
    const index = kept[d] as number;
    result.boxes.set(candidateBoxes.slice(4 * index, 4 * index + 4), 4 * d);
    result.scores[d] = candidateScores[index] as number;
    result.labels[d] = candidateLabels[index] as number;
  }
  return result;
}
