/**
 * The twin of torchvision's `models/detection/rpn.py` (RPNHead + RegionProposalNetwork) at inference, for one image:
 * objectness and box deltas on every FPN level, per-level top-k on the raw logits, decode against the anchors,
 * sigmoid, clip, drop tiny boxes, NMS within each level, keep the global top-n.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FeatureMaps } from './fpn';
import { ANCHOR_DEFAULTS, gridAnchors, type AnchorConfig, type Size2D } from './ops/anchors';
import { BOX_CODER_DEFAULTS, decodeBoxes } from './ops/box-coder';
import { type Conv, disposeConv, loadBiasedConv, runConv } from './ops/misc';
import { batchedNms } from './ops/nms';
import type { WeightLookup } from './state-dict';

export interface RpnConfig {
  anchors: AnchorConfig;
  /** Candidates kept per level, by logit, before NMS (`pre_nms_top_n_test`). */
  preNmsTopN: number;
  /** Proposals kept per image after NMS (`post_nms_top_n_test`). */
  postNmsTopN: number;
  nmsThreshold: number;
  /** Boxes narrower or lower than this are dropped (`min_size` of remove_small_boxes). */
  minSize: number;
  /** Kept if sigmoid(logit) >= this; torchvision's 0.0 keeps everything. */
  scoreThreshold: number;
}

/** `maskrcnn_resnet50_fpn`'s test-time values. */
export const RPN_DEFAULTS: Readonly<RpnConfig> = Object.freeze({
  anchors: ANCHOR_DEFAULTS,
  preNmsTopN: 1000,
  postNmsTopN: 1000,
  nmsThreshold: 0.7,
  minSize: 1e-3,
  scoreThreshold: 0.0,
});

/**
 * `RPNHead`: the shared 3x3 conv(s) and the objectness and box-delta 1x1 convs, run on each FPN level in turn. Owns
 * its converted weights: call `dispose()` (the RegionProposalNetwork it is given to does).
 */
export class RPNHead {
  private readonly convs: Conv[];
  private readonly objectness: Conv;
  private readonly deltas: Conv;
  private disposed = false;

  constructor(lookup: WeightLookup) {
    const loaded: Conv[] = [];
    try {
      // v1 has one 3x3 conv (rpn.head.conv.0.0), v2 two; both end in the same 1x1 predictors.
      this.convs = [];
      for (let i = 0; i === 0 || lookup(`rpn.head.conv.${i}.0.weight`) !== undefined; i++) {
        const conv = loadBiasedConv(lookup, `rpn.head.conv.${i}.0`, 3);
        loaded.push(conv);
        this.convs.push(conv);
      }
      this.objectness = loadBiasedConv(lookup, 'rpn.head.cls_logits', 1);
      loaded.push(this.objectness);
      this.deltas = loadBiasedConv(lookup, 'rpn.head.bbox_pred', 1);
      loaded.push(this.deltas);
    } catch (error) {
      loaded.forEach(disposeConv);
      throw error;
    }
  }

  /**
   * One level `[1, h, w, C]` to its objectness logits `[1, h, w, A]` and box deltas `[1, h, w, 4A]`. The 3x3 conv's
   * output is left to the caller's `tf.tidy`, which the RPN runs each level in.
   */
  forward(feature: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    if (this.disposed) throw new Error('RPNHead: used after dispose()');
    let x = feature;
    for (const conv of this.convs) x = runConv(x, conv, true);
    return [runConv(x, this.objectness, false), runConv(x, this.deltas, false)];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    [...this.convs, this.objectness, this.deltas].forEach(disposeConv);
  }
}

/**
 * `RegionProposalNetwork` at test time. It takes ownership of `head`, as torchvision's FasterRCNN builds the RPNHead
 * and hands it in: `dispose()` frees it.
 */
export class RegionProposalNetwork {
  private disposed = false;

  constructor(
    private readonly head: RPNHead,
    private readonly config: Readonly<RpnConfig> = RPN_DEFAULTS,
  ) {}

  /**
   * Proposals `[P·4]` (x1, y1, x2, y2) in resized-image coordinates, best first. `features` are the FPN levels of a
   * one-image batch in torchvision's order; `paddedSize` is the batch's `[Hp, Wp]`, `imageSize` the image's
   * resized, unpadded `[h, w]` that boxes are clipped to.
   */
  async propose(features: FeatureMaps, paddedSize: Size2D, imageSize: Size2D): Promise<Float32Array> {
    if (this.disposed) throw new Error('RegionProposalNetwork: used after dispose()');
    const levels = Object.values(features);
    const featureSizes = levels.map((level): Size2D => [level.shape[1], level.shape[2]]);
    const anchors = gridAnchors(featureSizes, paddedSize, this.config.anchors);
    const candidates: LevelProposals[] = [];
    for (const [level, feature] of levels.entries()) {
      const levelAnchors = anchors[level] as Float32Array;
      const count = levelAnchors.length / 4;
      const k = Math.min(this.config.preNmsTopN, count);
      const [logits, boxes] = tf.tidy(() => {
        const [levelLogits, levelDeltas] = this.head.forward(feature);
        // NHWC [1, h, w, A] flattens to (y, x, a), torchvision's anchor order.
        const objectness = tf.reshape(levelLogits, [count]);
        const deltas = tf.reshape(levelDeltas, [count, 4]);
        const top = tf.topk(objectness, k, true);
        const reference = tf.gather(tf.tensor2d(levelAnchors, [count, 4]), top.indices);
        return [top.values, decodeBoxes(tf.gather(deltas, top.indices) as tf.Tensor2D, reference as tf.Tensor2D, BOX_CODER_DEFAULTS.rpnWeights)];
      });
      candidates.push({ logits: (await logits.data()) as Float32Array, boxes: (await boxes.data()) as Float32Array, level });
      logits.dispose();
      boxes.dispose();
    }
    return filterProposals(candidates, imageSize, this.config);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.head.dispose();
  }
}

/** One FPN level's best anchors: their decoded boxes `[k·4]` and objectness logits `[k]`, best first. */
export interface LevelProposals {
  boxes: Float32Array;
  logits: Float32Array;
  level: number;
}

/**
 * Sigmoid, clip, small-box and score filters, per-level NMS, global top-n: `filter_proposals` for one image, after
 * its per-level top-k. Shared by both engines: this is host work on a few thousand boxes.
 */
export function filterProposals(candidates: readonly LevelProposals[], imageSize: Size2D, config: Readonly<RpnConfig> = RPN_DEFAULTS): Float32Array {
  const [height, width] = imageSize;
  const boxes: number[] = [];
  const scores: number[] = [];
  const groups: number[] = [];
  for (const { boxes: levelBoxes, logits, level } of candidates) {
    for (let i = 0; i < logits.length; i++) {
      const x1 = Math.min(Math.max(levelBoxes[4 * i] as number, 0), width);
      const y1 = Math.min(Math.max(levelBoxes[4 * i + 1] as number, 0), height);
      const x2 = Math.min(Math.max(levelBoxes[4 * i + 2] as number, 0), width);
      const y2 = Math.min(Math.max(levelBoxes[4 * i + 3] as number, 0), height);
      const score = Math.fround(1 / (1 + Math.exp(-(logits[i] as number))));
      if (x2 - x1 < config.minSize || y2 - y1 < config.minSize) continue;
      if (score < config.scoreThreshold) continue;
      boxes.push(x1, y1, x2, y2);
      scores.push(score);
      groups.push(level);
    }
  }
  const kept = batchedNms(Float32Array.from(boxes), Float32Array.from(scores), groups, config.nmsThreshold);
  const count = Math.min(kept.length, config.postNmsTopN);
  const proposals = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) {
    const index = kept[i] as number;
    proposals.set(boxes.slice(4 * index, 4 * index + 4), 4 * i);
  }
  return proposals;
}
