/**
 * Overlap of instance masks and boxes, and moving masks by a motion estimate: the geometry the tracker needs.
 *
 * Masks are the model's binary crops (see `pasteMaskCropsBinary`): a rectangle of the image and its 0/1 pixels,
 * row-major. Everything here works on the crops' overlapping rectangle only, never on a full-frame bitmap: a
 * 960×540 frame is half a million pixels, a typical instance crop a few thousand, and the tracker compares every
 * track with every nearby detection on every inferred frame.
 */
import type { MaskCrop } from '../model/ops/paste-masks';

/** A binary instance mask cropped to a rectangle of the image (`data[y * width + x]` is 0 or 1). */
export type BinaryMask = MaskCrop<Uint8Array>;

/** x1, y1, x2, y2 in image pixels (x2, y2 exclusive edges, as the model's boxes). */
export type Box = [number, number, number, number];

/** A mask with nothing in it, placed at the image origin. */
/** Throws when a crop's fields do not describe its data: such a crop would read outside its buffer. */
export function checkMask(mask: BinaryMask, what: string): void {
  const { x, y, width, height, data } = mask;
  if (![x, y, width, height].every(Number.isInteger) || width < 0 || height < 0) {
    throw new RangeError(
      `${what}: mask rectangle must be integers, width and height >= 0, got ${x},${y} ${width}×${height}`,
    );
  }
  if (data.length !== width * height) {
    throw new RangeError(`${what}: mask of ${width}×${height} holds ${data.length} values`);
  }
}

/** Number of pixels set in the mask. */
export function maskArea(mask: BinaryMask): number {
  const data = mask.data;
  let area = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) area++;
  return area;
}

/** Number of pixels set in both masks, counted over the crops' common rectangle only. */
export function maskIntersection(a: BinaryMask, b: BinaryMask): number {
  const x0 = Math.max(a.x, b.x);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y0 = Math.max(a.y, b.y);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  if (x0 >= x1 || y0 >= y1) return 0;
  const span = x1 - x0;
  const da = a.data;
  const db = b.data;
  let count = 0;
  for (let y = y0; y < y1; y++) {
    let ia = (y - a.y) * a.width + (x0 - a.x);
    let ib = (y - b.y) * b.width + (x0 - b.x);
    for (const end = ia + span; ia < end; ia++, ib++) if (da[ia] !== 0 && db[ib] !== 0) count++;
  }
  return count;
}

/**
 * Intersection over union of two masks; 0 when both are empty (nothing to agree on). Pass the areas when already
 * known, as the tracker does, to skip recounting them.
 */
export function maskIoU(a: BinaryMask, b: BinaryMask, areaA = maskArea(a), areaB = maskArea(b)): number {
  if (areaA === 0 || areaB === 0) return 0;
  const inter = maskIntersection(a, b);
  return inter / (areaA + areaB - inter);
}

export function boxArea(box: Readonly<Box>): number {
  return Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1]);
}

/** Area of the boxes' intersection (0 when they only touch). */
export function boxIntersection(a: Readonly<Box>, b: Readonly<Box>): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union of two boxes; 0 when either is empty. */
export function boxIoU(a: Readonly<Box>, b: Readonly<Box>): number {
  const inter = boxIntersection(a, b);
  if (inter === 0) return 0;
  return inter / (boxArea(a) + boxArea(b) - inter);
}

/**
 * The mask moved by (dx, dy) pixels and clipped to a `imageWidth × imageHeight` image. The motion is rounded to
 * whole pixels: sub-pixel placement would need resampling, which blurs a binary mask, and the caller moves the last
 * observed mask by the whole elapsed motion each time, so rounding never accumulates. Returns the same object when
 * nothing moves or is cut off, and shares the pixels when nothing is cut off (masks are never modified in place).
 */
export function shiftMask(mask: BinaryMask, dx: number, dy: number, imageWidth: number, imageHeight: number): BinaryMask {
  const sx = Math.round(dx);
  const sy = Math.round(dy);
  const left = mask.x + sx;
  const top = mask.y + sy;
  const x0 = Math.max(0, left);
  const y0 = Math.max(0, top);
  const x1 = Math.min(imageWidth, left + mask.width);
  const y1 = Math.min(imageHeight, top + mask.height);
  if (x0 >= x1 || y0 >= y1) {
    return { x: Math.min(x0, imageWidth), y: Math.min(y0, imageHeight), width: 0, height: 0, data: new Uint8Array(0) };
  }
  const clipped = x0 !== left || y0 !== top || x1 !== left + mask.width || y1 !== top + mask.height;
  if (sx === 0 && sy === 0 && !clipped) return mask;
  // Moved but whole: the same pixels at a new origin. Masks are never written to, so the data can be shared; a
  // tracker carrying large masks across skipped frames then copies nothing.
  if (!clipped) return { x: left, y: top, width: mask.width, height: mask.height, data: mask.data };
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const from = (y0 + y - top) * mask.width + (x0 - left);
    data.set(mask.data.subarray(from, from + width), y * width);
  }
  return { x: x0, y: y0, width, height, data };
}

/** The box moved by (dx, dy) (kept sub-pixel: boxes are floats) and clipped to the image. */
export function shiftBox(box: Readonly<Box>, dx: number, dy: number, imageWidth: number, imageHeight: number): Box {
  const clip = (v: number, max: number): number => Math.min(Math.max(v, 0), max);
  return [
    clip(box[0] + dx, imageWidth),
    clip(box[1] + dy, imageHeight),
    clip(box[2] + dx, imageWidth),
    clip(box[3] + dy, imageHeight),
  ];
}
