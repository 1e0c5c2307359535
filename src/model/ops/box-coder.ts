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

/**
 * `decodeBoxes` on host arrays, for the few thousand boxes left after a top-k (the ONNX engine decodes there): the
 * same steps in the same order, each rounded to float32, so it agrees with the tensor version to `exp`'s rounding.
 * `deltas` `[N·4k]`, `reference` `[N·4]`; returns `[N·4k]`.
 */
export function decodeBoxesOnHost(
  deltas: Float32Array,
  reference: Float32Array,
  weights: BoxCoderWeights,
  bboxXformClip: number = BOX_CODER_DEFAULTS.bboxXformClip,
): Float32Array {
  const n = reference.length / 4;
  if (deltas.length % (4 * Math.max(n, 1)) !== 0) {
    throw new Error(`decodeBoxesOnHost: ${deltas.length} deltas do not split into sets of 4 for ${n} reference boxes`);
  }
  const f32 = Math.fround;
  const k = n === 0 ? 0 : deltas.length / (4 * n);
  const [wx, wy, ww, wh] = weights.map(f32) as [number, number, number, number];
  const clip = f32(bboxXformClip);
  const out = new Float32Array(deltas.length);
  for (let i = 0; i < n; i++) {
    const x1 = reference[4 * i] as number;
    const y1 = reference[4 * i + 1] as number;
    const width = f32((reference[4 * i + 2] as number) - x1);
    const height = f32((reference[4 * i + 3] as number) - y1);
    const ctrX = f32(x1 + f32(width * 0.5));
    const ctrY = f32(y1 + f32(height * 0.5));
    for (let j = 0; j < k; j++) {
      const at = (i * k + j) * 4;
      const dx = f32((deltas[at] as number) / wx);
      const dy = f32((deltas[at + 1] as number) / wy);
      const dw = Math.min(f32((deltas[at + 2] as number) / ww), clip);
      const dh = Math.min(f32((deltas[at + 3] as number) / wh), clip);
      const predCtrX = f32(f32(dx * width) + ctrX);
      const predCtrY = f32(f32(dy * height) + ctrY);
      const halfW = f32(f32(f32(Math.exp(dw)) * width) * 0.5);
      const halfH = f32(f32(f32(Math.exp(dh)) * height) * 0.5);
      out[at] = predCtrX - halfW;
      out[at + 1] = predCtrY - halfH;
      out[at + 2] = predCtrX + halfW;
      out[at + 3] = predCtrY + halfH;
    }
  }
  return out;
}
