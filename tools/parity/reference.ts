/**
 * What "the same masks torchvision gives" means, in one place: torchvision's outputs as tools/fixtures saved them,
 * compared with a run of dashseg's. The parity tests assert on the report; tools/gpu/check.ts prints it for a GPU
 * provider that no test can reach.
 */
import { join } from 'node:path';
import type { Detection } from '../../src/model/mask-rcnn';
import { readNpy } from '../../src/model/weights/npy';
import { boxIoU, type Box } from '../../src/track/mask-iou';

/** A binary mask as a crop of the image: pixels outside it are 0. */
export interface ReferenceMask {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** What torchvision returned for one image. */
export interface TorchvisionReference {
  boxes: Float32Array;
  scores: Float32Array;
  labels: number[];
  /** One per detection, or per detection at or above some score where the fixture saved only those (scores sort them). */
  masks: ReferenceMask[];
}

function readDetections(dir: string, prefix: string): Omit<TorchvisionReference, 'masks'> & { packed: Uint8Array } {
  const npy = (suffix: string): ReturnType<typeof readNpy> => readNpy(join(dir, `${prefix}_${suffix}.npy`));
  return {
    boxes: npy('boxes').data as Float32Array,
    scores: npy('scores').data as Float32Array,
    labels: Array.from(npy('labels').data as BigInt64Array, Number),
    packed: npy('masks_packed').data as Uint8Array,
  };
}

function packedBit(packed: Uint8Array, bit: number): number {
  return ((packed[bit >> 3] as number) >> (7 - (bit & 7))) & 1;
}

/** `<prefix>_{boxes,scores,labels,masks_packed}.npy`, the masks numpy.packbits of [D, H, W] full-image masks. */
export function readReference(dir: string, prefix: string, height: number, width: number): TorchvisionReference {
  const { packed, ...detections } = readDetections(dir, prefix);
  const masks = Array.from(detections.scores, (_, d): ReferenceMask => {
    const data = new Uint8Array(height * width);
    for (let i = 0; i < data.length; i++) data[i] = packedBit(packed, d * height * width + i);
    return { x: 0, y: 0, width, height, data };
  });
  return { ...detections, masks };
}

/** As `readReference`, with the masks packed as crops whose `[x0, y0, x1, y1]` are in `<prefix>_mask_bounds.npy`. */
export function readCroppedReference(dir: string, prefix: string): TorchvisionReference {
  const { packed, ...detections } = readDetections(dir, prefix);
  const bounds = readNpy(join(dir, `${prefix}_mask_bounds.npy`)).data as Int32Array;
  const masks: ReferenceMask[] = [];
  let bit = 0;
  for (let d = 0; d < bounds.length / 4; d++) {
    const [x0, y0, x1, y1] = Array.from(bounds.subarray(4 * d, 4 * d + 4)) as [number, number, number, number];
    const data = new Uint8Array((x1 - x0) * (y1 - y0));
    for (let i = 0; i < data.length; i++, bit++) data[i] = packedBit(packed, bit);
    masks.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, data });
  }
  return { ...detections, masks };
}

export function maskIou(a: ReferenceMask, b: ReferenceMask): number {
  const count = (mask: ReferenceMask): number => mask.data.reduce((sum, value) => sum + (value ? 1 : 0), 0);
  let inter = 0;
  for (let row = 0; row < a.height; row++) {
    const y = a.y + row - b.y;
    if (y < 0 || y >= b.height) continue;
    for (let col = 0; col < a.width; col++) {
      const x = a.x + col - b.x;
      if (x >= 0 && x < b.width && a.data[row * a.width + col] && b.data[y * b.width + x]) inter++;
    }
  }
  const union = count(a) + count(b) - inter;
  return union === 0 ? 1 : inter / union;
}

export interface ParityReport {
  /** torchvision's detections at or above the score, and ours. */
  theirs: number;
  ours: number;
  /** Pairs of the same class with box IoU > 0.9. */
  matched: number;
  /** Over matched pairs; 0, 0 and 1 when none matched. */
  maxScoreDiff: number;
  maxBoxDiff: number;
  minMaskIou: number;
}

/** The tolerances of every parity suite: same detections, scores within 0.01, boxes within 1 px, mask IoU >= 0.95. */
export const PARITY_TOLERANCES = { matchedShare: 0.95, score: 0.01, boxPixels: 1, maskIou: 0.95 } as const;

/** Each of torchvision's detections at or above `minScore` paired with our best-overlapping one of its class. */
export function compareWithReference(detections: readonly Detection[], expected: TorchvisionReference, minScore = 0.3): ParityReport {
  const theirs = [...expected.scores.keys()].filter((d) => (expected.scores[d] as number) >= minScore);
  const ours = detections.filter((detection) => detection.score >= minScore);
  if (expected.masks.length < theirs.length) throw new Error(`the reference has ${expected.masks.length} masks for ${theirs.length} detections at or above ${minScore}`);
  const used = new Set<number>();
  const report: ParityReport = { theirs: theirs.length, ours: ours.length, matched: 0, maxScoreDiff: 0, maxBoxDiff: 0, minMaskIou: 1 };
  for (const d of theirs) {
    const box = Array.from(expected.boxes.subarray(4 * d, 4 * d + 4)) as Box;
    let match = -1;
    let best = 0.9;
    ours.forEach((detection, i) => {
      const iou = boxIoU(detection.box, box);
      if (!used.has(i) && detection.classId === expected.labels[d] && iou > best) {
        best = iou;
        match = i;
      }
    });
    if (match < 0) continue;
    used.add(match);
    report.matched++;
    const detection = ours[match] as Detection;
    report.maxScoreDiff = Math.max(report.maxScoreDiff, Math.abs(detection.score - (expected.scores[d] as number)));
    detection.box.forEach((value, i) => (report.maxBoxDiff = Math.max(report.maxBoxDiff, Math.abs(value - box[i]))));
    report.minMaskIou = Math.min(report.minMaskIou, maskIou(detection.mask, expected.masks[d] as ReferenceMask));
  }
  return report;
}

/** What is outside the tolerances, one phrase each; empty when the run is torchvision's. */
export function parityFailures(report: ParityReport): string[] {
  const failures: string[] = [];
  const share = (part: number, whole: number): number => part / Math.max(1, whole);
  if (share(report.matched, report.theirs) < PARITY_TOLERANCES.matchedShare) failures.push(`${report.matched} of torchvision's ${report.theirs} detections matched`);
  if (share(report.matched, report.ours) < PARITY_TOLERANCES.matchedShare) failures.push(`${report.matched} of our ${report.ours} detections matched`);
  if (report.maxScoreDiff > PARITY_TOLERANCES.score) failures.push(`a score ${report.maxScoreDiff.toExponential(2)} off`);
  if (report.maxBoxDiff > PARITY_TOLERANCES.boxPixels) failures.push(`a box corner ${report.maxBoxDiff.toFixed(2)} px off`);
  if (report.minMaskIou < PARITY_TOLERANCES.maskIou) failures.push(`a mask IoU of ${report.minMaskIou.toFixed(3)}`);
  return failures;
}

export function describeParity(report: ParityReport): string {
  return (
    `torchvision ${report.theirs} detections, dashseg ${report.ours}, matched ${report.matched}; max |score diff| ` +
    `${report.maxScoreDiff.toExponential(2)}, max box corner diff ${report.maxBoxDiff.toExponential(2)} px, min mask IoU ${report.minMaskIou.toFixed(4)}`
  );
}
