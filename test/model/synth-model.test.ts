/**
 * The bundled model (weights/dashseg-synth): dashseg gives what torchvision gives with the same weights on the
 * sample stills, and `--model default` picks it, or COCO weights once they have been pulled.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOnnxRuntime } from '../../src/model/backend';
import { type Detector, MaskRCNN } from '../../src/model/mask-rcnn';
import { OnnxMaskRCNN } from '../../src/model/onnx/mask-rcnn';
import { BUNDLED_DEFAULT, PREFERRED_DEFAULT, chooseModel, shippedModelDir } from '../../src/model/model-choice';
import { readModelConfig } from '../../src/model/model-dir';
import { readStillImage } from '../../src/video/still-image';
import { expectParity, readReference } from '../support/parity-reference';
import { tempDir } from '../support/media';
import { convertTinyModel } from '../support/tiny-model';

const ROOT = join(__dirname, '..', '..');
const BUNDLED = shippedModelDir(BUNDLED_DEFAULT);
const FIXTURES = join(ROOT, 'test', 'fixtures', 'synth-model');

/** Both engines: TF.js on wasm, and ONNX Runtime's CPU provider. */
const ENGINES: [string, () => Promise<Detector>][] = [
  [
    'TF.js wasm',
    async () => {
      await tf.setBackend('wasm');
      await tf.ready();
      return MaskRCNN.fromDirectory(BUNDLED);
    },
  ],
  ['ONNX Runtime', () => OnnxMaskRCNN.fromDirectory(BUNDLED, loadOnnxRuntime(), { provider: 'cpu', threads: 2 })],
];

describe.each(ENGINES)('the bundled model on %s', (_, start) => {
  let model: Detector;
  beforeAll(async () => {
    model = await start();
  });
  afterAll(() => model.dispose());

  test('the fixtures were made from the very checkpoint the bundled weights were converted from', () => {
    const recorded = JSON.parse(readFileSync(join(FIXTURES, 'checkpoint.json'), 'utf8')) as { sha256: string };
    expect(readModelConfig(BUNDLED).source?.sha256).toBe(recorded.sha256);
  });

  test.each([0, 1])('sample still %i: the same detections as torchvision, boxes, scores and masks', async (index) => {
    const image = await readStillImage(join(ROOT, 'samples', 'stills', 'images', `${String(index).padStart(6, '0')}.png`));
    const detections = await model.detect(image);
    const expected = readReference(FIXTURES, `still${index}`, image.height, image.width);
    expect(expectParity(detections, expected)).toBeGreaterThan(3);
  }, 60_000);
});

describe('--model default', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  test('is the bundled synthetic-scene model while no COCO weights have been pulled, and says so', () => {
    process.env.DASHSEG_HOME = join(dir.path, 'empty');
    try {
      const choice = chooseModel('default');
      expect(choice.dir).toBe(BUNDLED);
      expect(choice.reason).toMatch(/bundled, synthetic scenes only; dashseg weights pull maskrcnn_resnet50_fpn_coco for real footage/);
    } finally {
      delete process.env.DASHSEG_HOME;
    }
  });

  test('is the COCO model once it is in the cache', () => {
    const home = join(dir.path, 'home');
    const pulled = join(home, 'models', PREFERRED_DEFAULT);
    mkdirSync(pulled, { recursive: true });
    // Any model directory stands in for the 170 MB download: the choice only looks for it.
    convertTinyModel(join(dir.path, 'tiny'));
    cpSync(join(dir.path, 'tiny'), pulled, { recursive: true });
    process.env.DASHSEG_HOME = home;
    try {
      const choice = chooseModel('default');
      expect(choice.dir).toBe(pulled);
      expect(choice.reason).toMatch(/COCO weights found/);
    } finally {
      delete process.env.DASHSEG_HOME;
    }
  });
});
