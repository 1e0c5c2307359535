import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { join } from 'node:path';
import { loadOnnxRuntime } from '../../src/model/backend';
import { MaskRCNN } from '../../src/model/mask-rcnn';
import { OnnxMaskRCNN } from '../../src/model/onnx/mask-rcnn';
import { readNpy } from '../../src/model/weights/npy';
import { expectParity, readReference } from '../support/parity-reference';
import { tempDir } from '../support/media';
import { convertTinyModel, TINY_FIXTURES } from '../support/tiny-model';

const FIXTURES = TINY_FIXTURES;

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

    expect(expectParity(detections, readReference(FIXTURES, `image${index}`, height, width))).toBeGreaterThan(5);
  });
});

describe('Mask R-CNN parity with torchvision on ONNX Runtime (CPU provider)', () => {
  const dir = tempDir();
  let model: OnnxMaskRCNN;

  beforeAll(async () => {
    convertTinyModel(dir.path);
    model = await OnnxMaskRCNN.fromDirectory(dir.path, loadOnnxRuntime(), { provider: 'cpu', threads: 1 });
  });
  afterAll(async () => {
    await model.dispose();
    dir.remove();
  });

  it.each([0, 1])('image %i: the same detections (score >= 0.3), boxes, scores and masks', async (index) => {
    const pixels = readNpy(join(FIXTURES, `image${index}.npy`));
    const [height, width] = pixels.shape as [number, number, number];
    const detections = await model.detect({ width, height, format: 'rgb', data: pixels.data as Uint8Array });
    expect(model.liveTensors()).toBe(0);
    expect(expectParity(detections, readReference(FIXTURES, `image${index}`, height, width))).toBeGreaterThan(5);
  });
});
