import { join } from 'node:path';
import type { Detection } from '../../src/model/mask-rcnn';
import { readNpy } from '../../src/model/weights/npy';
import { boxIoU, type Box } from '../../src/track/mask-iou';

/** What torchvision returned for one image, as the fixture scripts under tools/fixtures save it. */
export interface TorchvisionReference {
  boxes: Float32Array;
  scores: Float32Array;
  labels: number[];
  /** Full-image binary masks, one per detection. */
  masks: Uint8Array[];
}

/** Reads `<prefix>_{boxes,scores,labels,masks_packed}.npy` from `dir`; masks are numpy.packbits of [D, H, W]. */
export function readReference(dir: string, prefix: string, height: number, width: number): TorchvisionReference {
  const scores = readNpy(join(dir, `${prefix}_scores.npy`)).data as Float32Array;
  const packed = readNpy(join(dir, `${prefix}_masks_packed.npy`)).data as Uint8Array;
  const masks = Array.from(scores, (_, d) => {
    const mask = new Uint8Array(height * width);
    for (let i = 0; i < mask.length; i++) {
      const bit = d * height * width + i;
      mask[i] = ((packed[bit >> 3] as number) >> (7 - (bit & 7))) & 1;
    }
    return mask;
  });
  return {
    boxes: readNpy(join(dir, `${prefix}_boxes.npy`)).data as Float32Array,
    scores,
    labels: Array.from(readNpy(join(dir, `${prefix}_labels.npy`)).data as BigInt64Array, Number),
    masks,
  };
}

function maskIou(detection: Detection, full: Uint8Array, width: number): number {
  let inter = 0;
  let ours = 0;
  const { x, y, width: w, height: h, data } = detection.mask;
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      if (data[row * w + col]) {
        ours++;
        if (full[(y + row) * width + x + col]) inter++;
      }
    }
  }
  const theirs = full.reduce((sum, value) => sum + value, 0);
  const union = ours + theirs - inter;
  return union === 0 ? 1 : inter / union;
}

/**
 * Expects the same detections at or above `minScore` both ways (95% matched by class and box IoU > 0.9), and for
 * each match the score within 0.01, box corners within 1 px and mask IoU >= 0.95. Returns how many matched.
 */
export function expectParity(detections: readonly Detection[], expected: TorchvisionReference, width: number, minScore = 0.3): number {
  const theirs = [...expected.scores.keys()].filter((d) => (expected.scores[d] as number) >= minScore);
  const ours = detections.filter((detection) => detection.score >= minScore);
  const used = new Set<number>();
  let matched = 0;
  for (const d of theirs) {
    const box = expected.boxes.subarray(4 * d, 4 * d + 4);
    const match = ours.findIndex((detection, i) => !used.has(i) && detection.classId === expected.labels[d] && boxIoU(detection.box, Array.from(box) as Box) > 0.9);
    if (match < 0) continue;
    used.add(match);
    matched++;
    const detection = ours[match] as Detection;
    expect(Math.abs(detection.score - (expected.scores[d] as number))).toBeLessThanOrEqual(0.01);
    detection.box.forEach((value, i) => expect(Math.abs(value - (box[i] as number))).toBeLessThanOrEqual(1.0));
    expect(maskIou(detection, expected.masks[d] as Uint8Array, width)).toBeGreaterThanOrEqual(0.95);
  }
  expect(matched / Math.max(1, theirs.length)).toBeGreaterThanOrEqual(0.95);
  expect(matched / Math.max(1, ours.length)).toBeGreaterThanOrEqual(0.95);
  return matched;
}
