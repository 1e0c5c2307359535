/**
 * Parity with torchvision's full-size maskrcnn_resnet50_fpn (91 classes, 800/1333) on a real dashcam photo and on a
 * synthetic image, without its 170 MB checkpoint: the weights are regenerated here from the counter-based hash that
 * tools/fixtures/make_resnet50_fixtures.py used (tools/parity/deterministic-weights.ts), plus ~200 kB of calibrated
 * batch-norm statistics and class biases. torchvision's outputs for both images are committed in test/fixtures/resnet50.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResNetBody } from '../../src/model/backbone';
import { FeaturePyramidNetwork } from '../../src/model/fpn';
import { loadOnnxRuntime } from '../../src/model/backend';
import { MaskRCNN, type Detection, type RgbImage } from '../../src/model/mask-rcnn';
import { OnnxMaskRCNN } from '../../src/model/onnx/mask-rcnn';
import { RPNHead, RegionProposalNetwork } from '../../src/model/rpn';
import { MASKRCNN_TRANSFORM, transformImages } from '../../src/model/transform';
import { toFloat32, type RawTensor } from '../../src/model/weights/tensor';
import { readStillImage } from '../../src/video/still-image';
import type { Recipe } from '../../tools/parity/deterministic-weights';
import { RESNET50_FIXTURES, type ResNet50Image, type ResNet50Model, checkResNet50Image, resnet50Model, resnet50SyntheticImage } from '../../tools/parity/resnet50';
import { SHARED_DATA } from '../support/media';
import { expectParity, readCroppedReference } from '../support/parity-reference';

const ARCHITECTURE = join(__dirname, '..', 'fixtures', 'architecture', 'maskrcnn_resnet50_fpn.json');
/** Generating 44 M weights and two forward passes at ~800x1100 on wasm: ~30 s on two cores. */
const TIMEOUT = 180_000;
const CONFIDENT = 0.3;
/** DASHSEG_PARITY_DEBUG=1 adds a stage-by-stage check (transform sizes, FPN statistics, proposals), ~12 s more. */
const DEBUG = process.env.DASHSEG_PARITY_DEBUG === '1';

/** What tools/fixtures/make_resnet50_fixtures.py recorded along the way, for `{image}_debug.json`. */
interface DebugRecord {
  image_size: [number, number];
  padded_size: [number, number];
  fpn: Record<string, { shape: number[]; mean: number; std: number }>;
  proposals: number;
  first_proposals: number[][];
}

/** The image exactly as torchvision saw it, or an error saying why it cannot be. */
async function loadImageFor(name: ResNet50Image, recipe: Recipe): Promise<RgbImage> {
  // For the photo, a JPEG decoder that gives other pixels (a new @napi-rs/canvas) fails the check, not the parity.
  const image = name === 'photo' ? await readStillImage(join(SHARED_DATA, recipe.images.photo.file ?? '')) : resnet50SyntheticImage(recipe);
  checkResNet50Image(name, image, recipe);
  return image;
}

function expectTorchvisionParity(name: ResNet50Image, detections: readonly Detection[]): void {
  const expected = readCroppedReference(RESNET50_FIXTURES, name);
  expect(expected.scores.filter((score) => score >= CONFIDENT).length).toBeGreaterThanOrEqual(20);
  expectParity(detections, expected, CONFIDENT, name);
}

let generation: ResNet50Model | undefined;

/** The state dict and model config, generated once for both engines' suites. */
function generated(): ResNet50Model {
  generation ??= resnet50Model();
  return generation;
}

describe('maskrcnn_resnet50_fpn (hash-generated weights) parity with torchvision on the wasm backend', () => {
  let recipe: Recipe;
  let tensors: Map<string, RawTensor>;
  let model: MaskRCNN | undefined;

  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    const made = generated();
    ({ recipe, tensors } = made);
    model = new MaskRCNN(made.config, tensors);
  }, TIMEOUT);
  afterAll(() => model?.dispose());

  it('regenerates, bit for bit, the state dict torchvision ran: every tensor of maskrcnn_resnet50_fpn', () => {
    const expected = JSON.parse(readFileSync(ARCHITECTURE, 'utf8')) as Record<string, number[]>;
    const shapes = Object.fromEntries(Object.entries(expected).filter(([name]) => !name.endsWith('.num_batches_tracked')));
    expect(Object.fromEntries(recipe.tensors.map((entry) => [entry.name, entry.shape]))).toEqual(shapes);
    expect(generated().sha256).toBe(recipe.stateDictSha256);
    expect(model?.config.architecture.backbone.depth).toBe(50);
    expect(model?.config.architecture.numClasses).toBe(91);
  });

  it.each<ResNet50Image>(['photo', 'synthetic'])(
    '%s: the same detections (score >= 0.3), boxes, scores and masks',
    async (name) => {
      const image = await loadImageFor(name, recipe);
      const before = tf.memory().numTensors;
      const detections = await (model as MaskRCNN).detect(image);
      expect(tf.memory().numTensors).toBe(before);
      expectTorchvisionParity(name, detections);
    },
    TIMEOUT,
  );

  (DEBUG ? it : it.skip)(
    'synthetic, stage by stage (DASHSEG_PARITY_DEBUG=1): transform sizes, FPN level statistics, proposals',
    async () => {
      const debug = JSON.parse(readFileSync(join(RESNET50_FIXTURES, 'synthetic_debug.json'), 'utf8')) as DebugRecord;
      const image = await loadImageFor('synthetic', recipe);
      const made = new Map<string, tf.Tensor>();
      const lookup = (name: string): tf.Tensor | undefined => {
        const raw = tensors.get(name);
        if (!raw) return undefined;
        if (!made.has(name)) made.set(name, tf.tensor(toFloat32(raw, name), raw.shape, 'float32'));
        return made.get(name);
      };
      const body = new ResNetBody(lookup, { eps: recipe.eps });
      const fpn = new FeaturePyramidNetwork(lookup);
      const rpn = new RegionProposalNetwork(new RPNHead(lookup));
      made.forEach((tensor) => tensor.dispose());
      try {
        const input = tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
        const transformed = transformImages([input], MASKRCNN_TRANSFORM);
        input.dispose();
        expect(transformed.imageSizes[0]).toEqual(debug.image_size);
        expect(transformed.batch.shape.slice(1, 3)).toEqual(debug.padded_size);
        const stages = body.forward(transformed.batch);
        const features = fpn.forward(stages);
        stages.forEach((stage) => stage.dispose());
        for (const [level, expected] of Object.entries(debug.fpn)) {
          const feature = features[level] as tf.Tensor4D;
          // torchvision's NCHW [1, C, H, W] is NHWC [1, H, W, C] here.
          expect(feature.shape).toEqual([1, expected.shape[2], expected.shape[3], expected.shape[1]]);
          // In double precision: a float32 reduction over 14 M values (tf.moments) is itself off by ~1e-2.
          const values = (await feature.data()) as Float32Array;
          let sum = 0;
          let squares = 0;
          for (const value of values) {
            sum += value;
            squares += value * value;
          }
          const mean = sum / values.length;
          const std = Math.sqrt((squares - sum * mean) / (values.length - 1));
          expect(Math.abs(mean - expected.mean)).toBeLessThanOrEqual(1e-4 * expected.std);
          expect(Math.abs(std - expected.std)).toBeLessThanOrEqual(1e-4 * expected.std);
        }
        const proposals = await rpn.propose(features, debug.padded_size, transformed.imageSizes[0] as [number, number]);
        transformed.batch.dispose();
        Object.values(features).forEach((feature) => feature.dispose());
        expect(proposals.length / 4).toBe(debug.proposals);
        debug.first_proposals.forEach((box, i) =>
          box.forEach((value, j) => expect(Math.abs((proposals[4 * i + j] as number) - value)).toBeLessThanOrEqual(1e-2)),
        );
      } finally {
        [body, fpn, rpn].forEach((module) => module.dispose());
      }
    },
    TIMEOUT,
  );
});

describe('maskrcnn_resnet50_fpn (hash-generated weights) parity with torchvision on ONNX Runtime (CPU provider)', () => {
  let model: OnnxMaskRCNN | undefined;

  beforeAll(async () => {
    const { config, tensors } = generated();
    model = await OnnxMaskRCNN.create(config, tensors, loadOnnxRuntime(), { provider: 'cpu' });
  }, TIMEOUT);
  afterAll(() => model?.dispose());

  it.each<ResNet50Image>(['photo', 'synthetic'])(
    '%s: the same detections (score >= 0.3), boxes, scores and masks',
    async (name) => {
      const detections = await (model as OnnxMaskRCNN).detect(await loadImageFor(name, generated().recipe));
      expect(model?.liveTensors()).toBe(0);
      expectTorchvisionParity(name, detections);
    },
    TIMEOUT,
  );
});
