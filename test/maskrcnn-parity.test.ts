import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { join } from 'node:path';
import { MaskRCNN, type Detection } from '../src/model/mask-rcnn';
import { readNpy } from '../src/model/weights/npy';
import { tempDir } from './support/media';
import { boxIoU, type Box } from '../src/track/mask-iou';
import { convertTinyModel, TINY_FIXTURES } from './support/tiny-model';

const FIXTURES = TINY_FIXTURES;

interface Reference {
  boxes: Float32Array;
  scores: Float32Array;
  labels: number[];
  /** Full-image binary masks, one per detection. */
  masks: Uint8Array[];
}

function reference(index: number, height: number, width: number): Reference {
  const scores = readNpy(join(FIXTURES, `image${index}_scores.npy`)).data as Float32Array;
  const packed = readNpy(join(FIXTURES, `image${index}_masks_packed.npy`)).data as Uint8Array;
  const masks = Array.from(scores, (_, d) => {
    const mask = new Uint8Array(height * width);
    for (let i = 0; i < mask.length; i++) {
      const bit = d * height * width + i;
      mask[i] = ((packed[bit >> 3] as number) >> (7 - (bit & 7))) & 1;
    }
    return mask;
  });
  return {
    boxes: readNpy(join(FIXTURES, `image${index}_boxes.npy`)).data as Float32Array,
    scores,
    labels: Array.from(readNpy(join(FIXTURES, `image${index}_labels.npy`)).data as BigInt64Array, Number),
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

describe.each(['cpu', 'wasm'])('Mask R-CNN parity with torchvision on the %s backend', (backend) => {
  const dir = tempDir();
  let model: MaskRCNN;

  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    convertTinyModel(dir.path);
    model = MaskRCNN.fromDirectory(dir.path);
  });
  afterAll(() => {
    model.dispose();
    dir.remove();
  });

  it.each([0, 1])('image %i: the same detections (score >= 0.3), boxes, scores and masks', async (index) => {
    const pixels = readNpy(join(FIXTURES, `image${index}.npy`));
    const [height, width] = pixels.shape as [number, number, number];
    const before = tf.memory().numTensors;
    const detections = await model.detect({ width, height, format: 'rgb', data: pixels.data as Uint8Array });
    expect(tf.memory().numTensors).toBe(before);

    const expected = reference(index, height, width);
    const confident = (score: number): boolean => score >= 0.3;
    const theirs = [...expected.scores.keys()].filter((d) => confident(expected.scores[d] as number));
    const ours = detections.filter((detection) => confident(detection.score));
    expect(theirs.length).toBeGreaterThan(5);
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
    expect(matched / theirs.length).toBeGreaterThanOrEqual(0.95);
    expect(matched / ours.length).toBeGreaterThanOrEqual(0.95);
  });
});
