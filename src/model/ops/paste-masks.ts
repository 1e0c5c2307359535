/**
 * The twin of torchvision's `paste_masks_in_image` (models/detection/roi_heads.py, called from
 * `GeneralizedRCNNTransform.postprocess`): each M×M mask probability map (M = 28) is drawn into the original image
 * over its detection box.
 *
 * torchvision, step by step:
 * 1. `expand_masks`: zero-pad the mask by `padding` (1) on every side → (M+2)×(M+2), scale = (M+2)/M.
 * 2. `expand_boxes`: grow the box about its centre by that scale, in float32 — the scale itself is rounded to
 *    float32 first (torch multiplies a float tensor by a Python float in float), which the spec's "double" misses.
 * 3. `.to(int64)`: truncation toward zero (−0.9 → 0), giving X1, Y1, X2, Y2.
 * 4. `paste_mask_in_image`: the box is inclusive, so the padded mask is resized to (Y2−Y1+1)×(X2−X1+1) (at least
 *    1×1) with bilinear, align_corners=False, no antialias; image pixel (y, x) inside the box takes resized pixel
 *    (y − Y1, x − X1); rows and columns outside the image are cut off, everything outside the box is 0.
 * The result is float32 probabilities, never thresholded by torchvision.
 *
 * `pasteMasksInImage` returns torchvision's output: one full H0×W0 map per detection. A 960×540 map is 2 MB, most of
 * it zeros, so `pasteMaskCrops` / `pasteMaskCropsBinary` return only the in-image part of each box's rectangle;
 * the values there are the same numbers (the full map is the crop placed on zeros), and binary crops threshold
 * with `p >= threshold`, the comparison torchvision's model documentation uses (`masks >= 0.5`; its COCO
 * evaluation script uses `> 0.5`, which differs only at exactly 0.5).
 *
 * A box entirely right of or below the image makes torchvision's slicing raise, and one entirely left of or above
 * it wraps its negative slice bounds; both paste nothing here. Detections are clipped to the image before they
 * get here, so neither occurs in the model.
 */

export interface PasteMasksConfig {
  /** Zero border added around each mask before resizing, in mask pixels. */
  padding: number;
  /** Probability at or above which a pixel belongs to the instance (binary crops only). */
  threshold: number;
}

/** torchvision's `paste_masks_in_image(padding=1)` and the 0.5 threshold of its documentation. */
export const PASTE_MASKS_DEFAULTS: Readonly<PasteMasksConfig> = Object.freeze({ padding: 1, threshold: 0.5 });

/** The part of the image one detection's mask covers, with the mask values for that rectangle, row-major. */
export interface MaskCrop<T extends Float32Array | Uint8Array> {
  /** Left column and top row in the image. */
  x: number;
  y: number;
  /** 0 when the expanded box lies outside the image. */
  width: number;
  height: number;
  /** `height × width` values. */
  data: T;
}

const f32 = Math.fround;

/** Checks the shapes and returns `[count, maskSize]`; masks are `[D, M, M]` flat, boxes `[D, 4]` flat. */
function maskShape(masks: Float32Array, boxes: Float32Array): [number, number] {
  if (boxes.length % 4 !== 0) throw new Error(`pasteMasks: boxes hold ${boxes.length} numbers, not a multiple of 4`);
  const d = boxes.length / 4;
  if (d === 0) return [0, 0];
  const size = Math.round(Math.sqrt(masks.length / d));
  if (size * size * d !== masks.length) {
    throw new Error(`pasteMasks: ${masks.length} mask values are not ${d} square masks`);
  }
  return [d, size];
}

/**
 * `expand_boxes(boxes, (M + 2p) / M).to(int64)`: the integer (inclusive) boxes the padded masks are pasted into,
 * `[D, 4]` flat.
 */
export function pasteBoxes(boxes: Float32Array, maskSize: number, padding: number): Int32Array {
  const scale = f32((maskSize + 2 * padding) / maskSize);
  const out = new Int32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const x1 = boxes[i];
    const y1 = boxes[i + 1];
    const x2 = boxes[i + 2];
    const y2 = boxes[i + 3];
    const halfW = f32(f32(f32(x2 - x1) * 0.5) * scale);
    const halfH = f32(f32(f32(y2 - y1) * 0.5) * scale);
    const cx = f32(f32(x2 + x1) * 0.5);
    const cy = f32(f32(y2 + y1) * 0.5);
    out[i] = Math.trunc(f32(cx - halfW));
    out[i + 1] = Math.trunc(f32(cy - halfH));
    out[i + 2] = Math.trunc(f32(cx + halfW));
    out[i + 3] = Math.trunc(f32(cy + halfH));
  }
  return out;
}

/** Source taps of torch's linear upsampling along one axis, for output indices [from, to). */
interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

/**
 * ATen's `compute_source_index_and_lambda` (align_corners=False): ratio = in/out in float32, the source position
 * `ratio·(o + 0.5) − 0.5` in double (ATen's CPU accumulation type), clamped at 0, λ in float32. Equal sizes copy.
 */
function linearTaps(inSize: number, outSize: number, from: number, to: number): Taps {
  const n = Math.max(to - from, 0);
  const taps: Taps = { i0: new Int32Array(n), i1: new Int32Array(n), w0: new Float32Array(n), w1: new Float32Array(n) };
  const ratio = f32(inSize / outSize);
  for (let o = from; o < to; o++) {
    const t = o - from;
    if (inSize === outSize) {
      taps.i0[t] = o;
      taps.i1[t] = o;
      taps.w0[t] = 1;
      taps.w1[t] = 0;
      continue;
    }
    const real = Math.max(ratio * (o + 0.5) - 0.5, 0);
    const i0 = Math.trunc(real);
    const lambda1 = f32(real - i0);
    taps.i0[t] = i0;
    taps.i1[t] = i0 < inSize - 1 ? i0 + 1 : i0;
    taps.w1[t] = lambda1;
    taps.w0[t] = f32(1 - lambda1);
  }
  return taps;
}

/** The mask with `padding` zeros on every side: `expand_masks`. */
function padMask(masks: Float32Array, index: number, size: number, padding: number): Float32Array {
  const padded = size + 2 * padding;
  const out = new Float32Array(padded * padded);
  for (let y = 0; y < size; y++) {
    const row = masks.subarray((index * size + y) * size, (index * size + y + 1) * size);
    out.set(row, (y + padding) * padded + padding);
  }
  return out;
}

/** Where one detection lands: its integer box and the in-image rectangle of it. */
interface Placement {
  boxX: number;
  boxY: number;
  boxW: number;
  boxH: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function placement(intBoxes: Int32Array, d: number, height: number, width: number): Placement {
  const bx1 = intBoxes[d * 4];
  const by1 = intBoxes[d * 4 + 1];
  const bx2 = intBoxes[d * 4 + 2];
  const by2 = intBoxes[d * 4 + 3];
  const x0 = Math.max(bx1, 0);
  const y0 = Math.max(by1, 0);
  return {
    boxX: bx1,
    boxY: by1,
    boxW: Math.max(bx2 - bx1 + 1, 1),
    boxH: Math.max(by2 - by1 + 1, 1),
    x0,
    y0,
    x1: Math.max(Math.min(bx2 + 1, width), x0),
    y1: Math.max(Math.min(by2 + 1, height), y0),
  };
}

/**
 * The resized padded mask over the in-image rectangle of its box, row-major `(y1 − y0) × (x1 − x0)`. Only those
 * rows and columns of torchvision's full bh×bw resize are computed; each value is the same: the x taps blended
 * first, then the two rows, in float32.
 */
function resizedCrop(padded: Float32Array, paddedSize: number, at: Placement): Float32Array {
  const cropW = at.x1 - at.x0;
  const cropH = at.y1 - at.y0;
  const out = new Float32Array(cropW * cropH);
  if (cropW === 0 || cropH === 0) return out;
  const ys = linearTaps(paddedSize, at.boxH, at.y0 - at.boxY, at.y1 - at.boxY);
  const xs = linearTaps(paddedSize, at.boxW, at.x0 - at.boxX, at.x1 - at.boxX);
  for (let y = 0; y < cropH; y++) {
    const row0 = ys.i0[y] * paddedSize;
    const row1 = ys.i1[y] * paddedSize;
    const wy0 = ys.w0[y];
    const wy1 = ys.w1[y];
    for (let x = 0; x < cropW; x++) {
      const c0 = xs.i0[x];
      const c1 = xs.i1[x];
      const wx0 = xs.w0[x];
      const wx1 = xs.w1[x];
      const top = f32(f32(padded[row0 + c0] * wx0) + f32(padded[row0 + c1] * wx1));
      const bottom = f32(f32(padded[row1 + c0] * wx0) + f32(padded[row1 + c1] * wx1));
      out[y * cropW + x] = f32(top * wy0) + f32(bottom * wy1);
    }
  }
  return out;
}

/**
 * Each detection's mask, pasted and cropped to the in-image part of its expanded integer box: float32
 * probabilities, identical to torchvision's full map over that rectangle (and the full map is 0 elsewhere).
 * `masks` `[D, M, M]` and `boxes` `[D, 4]` (original-image coordinates) are flat; `imageSize` is `[H0, W0]`.
 */
export function pasteMaskCrops(
  masks: Float32Array,
  boxes: Float32Array,
  imageSize: readonly [number, number],
  config: Pick<PasteMasksConfig, 'padding'> = PASTE_MASKS_DEFAULTS,
): MaskCrop<Float32Array>[] {
  const [count, size] = maskShape(masks, boxes);
  const [height, width] = imageSize;
  const intBoxes = pasteBoxes(boxes, size, config.padding);
  const paddedSize = size + 2 * config.padding;
  const crops: MaskCrop<Float32Array>[] = [];
  for (let d = 0; d < count; d++) {
    const at = placement(intBoxes, d, height, width);
    crops.push({
      x: at.x0,
      y: at.y0,
      width: at.x1 - at.x0,
      height: at.y1 - at.y0,
      data: resizedCrop(padMask(masks, d, size, config.padding), paddedSize, at),
    });
  }
  return crops;
}

/** `pasteMaskCrops` thresholded: 1 where the probability is `>= threshold`, else 0. */
export function pasteMaskCropsBinary(
  masks: Float32Array,
  boxes: Float32Array,
  imageSize: readonly [number, number],
  config: Readonly<PasteMasksConfig> = PASTE_MASKS_DEFAULTS,
): MaskCrop<Uint8Array>[] {
  return pasteMaskCrops(masks, boxes, imageSize, config).map((crop) => {
    const binary = new Uint8Array(crop.data.length);
    for (let i = 0; i < binary.length; i++) binary[i] = crop.data[i] >= config.threshold ? 1 : 0;
    return { x: crop.x, y: crop.y, width: crop.width, height: crop.height, data: binary };
  });
}

/** Places a crop on an `H0 × W0` canvas of zeros: torchvision's per-detection map. */
export function cropToImage<T extends Float32Array | Uint8Array>(crop: MaskCrop<T>, imageSize: readonly [number, number]): T {
  const [height, width] = imageSize;
  const image = (crop.data instanceof Uint8Array ? new Uint8Array(height * width) : new Float32Array(height * width)) as T;
  for (let y = 0; y < crop.height; y++) {
    image.set(crop.data.subarray(y * crop.width, (y + 1) * crop.width), (crop.y + y) * width + crop.x);
  }
  return image;
}

/**
 * `paste_masks_in_image`: one `H0 × W0` float32 probability map per detection (torchvision's `[D, 1, H0, W0]`
 * without the channel axis). Prefer `pasteMaskCrops` where the full maps are not needed.
 */
export function pasteMasksInImage(
  masks: Float32Array,
  boxes: Float32Array,
  imageSize: readonly [number, number],
  config: Pick<PasteMasksConfig, 'padding'> = PASTE_MASKS_DEFAULTS,
): Float32Array[] {
  return pasteMaskCrops(masks, boxes, imageSize, config).map((crop) => cropToImage(crop, imageSize));
}
