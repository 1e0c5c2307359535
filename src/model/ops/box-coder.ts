/**
 * The twin of torchvision's `BoxCoder` (models/detection/_utils.py): boxes as offsets of a reference box's centre
 * in units of its size, and log-ratios of the sizes. The RPN decodes its deltas against the anchors with weights
 * (1, 1, 1, 1); the box head decodes against the proposals with (10, 10, 5, 5).
 *
 * Boxes are `(x1, y1, x2, y2)` with no "+1" anywhere. Every step is a float32 tensor op in torchvision's order
 * (divide by the weight rather than multiply by its inverse, centre = x1 + 0.5·w), so results agree to float32
 * rounding of `exp`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** `(wx, wy, ww, wh)`: the deltas are divided by these before use. */
export type BoxCoderWeights = readonly [number, number, number, number];

export interface BoxCoderConfig {
  weights: BoxCoderWeights;
  /**
   * Upper clamp on dw and dh (after the weights) before `exp`, so that a wild regression cannot overflow to
   * Infinity. There is no lower clamp: a very negative dw only makes a tiny box.
   */
  bboxXformClip: number;
}

/** torchvision's values: `BoxCoder` default clip, and the weights `RegionProposalNetwork` and `RoIHeads` pass. */
export const BOX_CODER_DEFAULTS = Object.freeze({
  rpnWeights: Object.freeze([1, 1, 1, 1] as const),
  roiHeadsWeights: Object.freeze([10, 10, 5, 5] as const),
  bboxXformClip: Math.log(1000 / 16),
});

/** The four columns of an `[N, 4]` box tensor, each `[N, 1]`, ready to broadcast against `[N, k]`. */
function columns(boxes: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  const [x1, y1, x2, y2] = tf.split(boxes, 4, 1);
  return [x1 as tf.Tensor2D, y1 as tf.Tensor2D, x2 as tf.Tensor2D, y2 as tf.Tensor2D];
}

/**
 * `BoxCoder.decode_single`: `deltas` `[N, 4k]` holds k sets of `(dx, dy, dw, dh)` per reference box (k = 1 for the
 * RPN, k = number of classes for the box head, class-major as the predictor's columns are); `reference` is `[N, 4]`.
 * Returns `[N, 4k]` boxes in the same column order.
 */
export function decodeBoxes(
  deltas: tf.Tensor2D,
  reference: tf.Tensor2D,
  weights: BoxCoderWeights,
  bboxXformClip: number = BOX_CODER_DEFAULTS.bboxXformClip,
): tf.Tensor2D {
  const [n, width] = deltas.shape;
  if (width % 4 !== 0) throw new Error(`decodeBoxes: deltas have ${width} columns, not a multiple of 4`);
  if (reference.shape[0] !== n || reference.shape[1] !== 4) {
    throw new Error(
      `decodeBoxes: reference boxes ${JSON.stringify(reference.shape)} do not match deltas [${n}, ${width}]`,
    );
  }
  const k = width / 4;
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = columns(tf.cast(reference, 'float32'));
    const widths = tf.sub(x2, x1);
    const heights = tf.sub(y2, y1);
    const ctrX = tf.add(x1, tf.mul(widths, 0.5));
    const ctrY = tf.add(y1, tf.mul(heights, 0.5));

    // [N, k, 4] → four [N, k] planes: column 4j+c of the deltas is component c of set j.
    const [d0, d1, d2, d3] = tf.unstack(tf.reshape(deltas, [n, k, 4]), 2);
    const [wx, wy, ww, wh] = weights;
    const dx = tf.div(d0, wx);
    const dy = tf.div(d1, wy);
    const dw = tf.minimum(tf.div(d2, ww), bboxXformClip);
    const dh = tf.minimum(tf.div(d3, wh), bboxXformClip);

    const predCtrX = tf.add(tf.mul(dx, widths), ctrX);
    const predCtrY = tf.add(tf.mul(dy, heights), ctrY);
    const halfW = tf.mul(tf.mul(tf.exp(dw), widths), 0.5);
    const halfH = tf.mul(tf.mul(tf.exp(dh), heights), 0.5);

    const boxes = tf.stack(
      [tf.sub(predCtrX, halfW), tf.sub(predCtrY, halfH), tf.add(predCtrX, halfW), tf.add(predCtrY, halfH)],
      2,
    );
    return tf.reshape(boxes, [n, width]);
  });
}

/**
 * `encode_boxes`: the deltas that `decodeBoxes(deltas, reference, weights)` turns back into `boxes` (up to the
 * clamp). Both are `[N, 4]`; returns `[N, 4]`. Inference never encodes; this is the inverse the tests and any
 * training code need, with torchvision's operation order (`wx·(Δcentre) / width`, `ww·log(ratio)`).
 */
export function encodeBoxes(boxes: tf.Tensor2D, reference: tf.Tensor2D, weights: BoxCoderWeights): tf.Tensor2D {
  if (boxes.shape[0] !== reference.shape[0] || boxes.shape[1] !== 4 || reference.shape[1] !== 4) {
    throw new Error(
      `encodeBoxes: boxes ${JSON.stringify(boxes.shape)} and reference ${JSON.stringify(reference.shape)} ` +
        'must both be [N, 4]',
    );
  }
  return tf.tidy(() => {
    const [px1, py1, px2, py2] = columns(tf.cast(reference, 'float32'));
    const [gx1, gy1, gx2, gy2] = columns(tf.cast(boxes, 'float32'));
    const exWidths = tf.sub(px2, px1);
    const exHeights = tf.sub(py2, py1);
    const exCtrX = tf.add(px1, tf.mul(exWidths, 0.5));
    const exCtrY = tf.add(py1, tf.mul(exHeights, 0.5));
    const gtWidths = tf.sub(gx2, gx1);
    const gtHeights = tf.sub(gy2, gy1);
    const gtCtrX = tf.add(gx1, tf.mul(gtWidths, 0.5));
    const gtCtrY = tf.add(gy1, tf.mul(gtHeights, 0.5));

    const [wx, wy, ww, wh] = weights;
    const dx = tf.div(tf.mul(tf.sub(gtCtrX, exCtrX), wx), exWidths);
    const dy = tf.div(tf.mul(tf.sub(gtCtrY, exCtrY), wy), exHeights);
    const dw = tf.mul(tf.log(tf.div(gtWidths, exWidths)), ww);
    const dh = tf.mul(tf.log(tf.div(gtHeights, exHeights)), wh);
    return tf.concat([dx, dy, dw, dh], 1);
  }) as tf.Tensor2D;
}
