import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readNpy } from '../../src/model/weights/npy';
import { UserError } from '../../src/errors';
import { type BlockType, ResNetBody } from '../../src/model/backbone';
import type { WeightLookup } from '../../src/model/state-dict';
import { FeaturePyramidNetwork } from '../../src/model/fpn';
import { MASKRCNN_TRANSFORM, transformImages } from '../../src/model/transform';

// Written by tools/fixtures/make_backbone_fixtures.py: narrow torchvision ResNets inside BackboneWithFPN, with random
// weights and random frozen batch-norm statistics, run on the transform's output for two generated images.
const fixture = (...parts: string[]): string => join(__dirname, '..', 'fixtures', 'backbone', ...parts);

const VARIANTS = [
  { name: 'basic', block: 'basic', blocks: [2, 1, 2, 1], outChannels: [8, 16, 24, 32], depth: 14 },
  { name: 'bottleneck', block: 'bottleneck', blocks: [1, 2, 1, 1], outChannels: [16, 32, 48, 64], depth: 17 },
] as const;

const LEVELS = ['0', '1', '2', '3', 'pool'];

/** Every tensor of a variant's state dict, by key, as a checkpoint reader would hand them over. */
function loadWeights(variant: string): Map<string, tf.Tensor> {
  const folder = fixture(variant, 'weights');
  const weights = new Map<string, tf.Tensor>();
  for (const file of readdirSync(folder)) {
    const array = readNpy(join(folder, file));
    weights.set(file.replace(/\.npy$/, ''), tf.tensor(array.data as Float32Array, array.shape, 'float32'));
  }
  return weights;
}

/** A torchvision NCHW array as an NHWC tensor. */
function nhwc(path: string): tf.Tensor4D {
  const array = readNpy(path);
  const nchw = tf.tensor4d(array.data as Float32Array, array.shape as [number, number, number, number]);
  const result = tf.transpose(nchw, [0, 2, 3, 1]);
  nchw.dispose();
  return result;
}

function reference(variant: string, name: string): { shape: number[]; data: Float32Array } {
  const tensor = nhwc(fixture(variant, `${name}.npy`));
  const result = { shape: tensor.shape, data: tensor.dataSync() as Float32Array };
  tensor.dispose();
  return result;
}

/** max |actual - expected| over max |expected|: elementwise ratios would blow up on the many near-zero elements. */
function relativeError(actual: tf.Tensor, expected: { shape: number[]; data: Float32Array }): number {
  expect(actual.shape).toEqual(expected.shape);
  const values = actual.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < values.length; i += 1) {
    diff = Math.max(diff, Math.abs((values[i] as number) - (expected.data[i] as number)));
    scale = Math.max(scale, Math.abs(expected.data[i] as number));
  }
  expect(scale).toBeGreaterThan(0.1);
  return diff / scale;
}

function batchInput(): tf.Tensor4D {
  return nhwc(fixture('transform', 'batch.npy'));
}

function eps(variant: string): number {
  return (readNpy(fixture(variant, 'meta.npy')).data as Float64Array)[0] as number;
}

/** A lookup over a map that pretends some keys are absent. */
function without(weights: Map<string, tf.Tensor>, ...hidden: string[]): WeightLookup {
  return (name) => (hidden.includes(name) ? undefined : weights.get(name));
}

/**
 * A torchvision-named ResNet state dict of any depth, generated here: widths are tiny because only the structure is
 * under test (the fixtures test the numbers).
 */
function syntheticResNet(block: BlockType, blocks: number[], widths: number[], stem: number): Map<string, tf.Tensor> {
  const weights = new Map<string, tf.Tensor>();
  const conv = (name: string, out: number, inChannels: number, kernel: number): void => {
    const shape = [out, inChannels, kernel, kernel];
    weights.set(`backbone.body.${name}.weight`, tf.randomNormal(shape, 0, 0.3, 'float32', 1));
  };
  const bn = (name: string, channels: number): void => {
    weights.set(`backbone.body.${name}.weight`, tf.randomUniform([channels], 0.5, 1.5, 'float32', 2));
    weights.set(`backbone.body.${name}.bias`, tf.randomNormal([channels], 0, 0.1, 'float32', 3));
    weights.set(`backbone.body.${name}.running_mean`, tf.randomNormal([channels], 0, 0.1, 'float32', 4));
    weights.set(`backbone.body.${name}.running_var`, tf.randomUniform([channels], 0.5, 2, 'float32', 5));
  };
  conv('conv1', stem, 3, 7);
  bn('bn1', stem);
  const expansion = block === 'basic' ? 1 : 4;
  let channels = stem;
  blocks.forEach((count, stage) => {
    const width = widths[stage] as number;
    const out = width * expansion;
    for (let index = 0; index < count; index += 1) {
      const name = `layer${stage + 1}.${index}`;
      if (block === 'basic') {
        conv(`${name}.conv1`, width, channels, 3);
        conv(`${name}.conv2`, width, width, 3);
      } else {
        conv(`${name}.conv1`, width, channels, 1);
        conv(`${name}.conv2`, width, width, 3);
        conv(`${name}.conv3`, out, width, 1);
        bn(`${name}.bn3`, out);
      }
      bn(`${name}.bn1`, width);
      bn(`${name}.bn2`, width);
      // torchvision's _make_layer: a projection when the stride or the channel count changes.
      if (index === 0 && (stage > 0 || channels !== out)) {
        conv(`${name}.downsample.0`, out, channels, 1);
        bn(`${name}.downsample.1`, out);
      }
      channels = out;
    }
  });
  return weights;
}

const BACKENDS = ['cpu', 'wasm'] as const;

describe.each(BACKENDS)('on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
  });

  describe.each(VARIANTS)('$name blocks, against torchvision', (variant) => {
    let weights: Map<string, tf.Tensor>;
    let body: ResNetBody;
    let fpn: FeaturePyramidNetwork;

    beforeAll(() => {
      weights = loadWeights(variant.name);
      body = new ResNetBody((name) => weights.get(name), { eps: eps(variant.name) });
      fpn = new FeaturePyramidNetwork((name) => weights.get(name));
    });

    afterAll(() => {
      body.dispose();
      fpn.dispose();
      weights.forEach((tensor) => tensor.dispose());
    });

    it('infers the architecture from the checkpoint', () => {
      expect(body.architecture).toEqual({
        block: variant.block,
        blocks: variant.blocks,
        depth: variant.depth,
        stemChannels: 8,
        outChannels: variant.outChannels,
      });
      expect(fpn.inChannels).toEqual(variant.outChannels);
      expect(fpn.outChannels).toBe(16);
      expect(fpn.names).toEqual(LEVELS);
    });

    it('C2..C5 and the FPN levels match to 1e-4 relative', () => {
      const input = batchInput();
      const features = body.forward(input);
      features.forEach((feature, index) => {
        expect(relativeError(feature, reference(variant.name, `c${index + 2}`))).toBeLessThanOrEqual(1e-4);
      });
      const pyramid = fpn.forward(features);
      expect(Object.keys(pyramid)).toEqual(LEVELS);
      // 96x128 input: the top level is 3x4, so 'pool' (ceil) is 2x2.
      expect(pyramid.pool?.shape).toEqual([2, 2, 2, 16]);
      for (const level of LEVELS) {
        const error = relativeError(pyramid[level] as tf.Tensor, reference(variant.name, `fpn_${level}`));
        expect(error).toBeLessThanOrEqual(1e-4);
      }
      tf.dispose([input, ...features, ...Object.values(pyramid)]);
    });

    it('from the images through dashseg transform too', () => {
      const images = [0, 1].map((index) => {
        const image = readNpy(fixture('images', `image${index}.npy`));
        return tf.tensor3d(Int32Array.from(image.data as Uint8Array), image.shape as [number, number, number], 'int32');
      });
      const { batch } = transformImages(images, { ...MASKRCNN_TRANSFORM, minSize: 64, maxSize: 112 });
      const pyramid = tf.tidy(() => fpn.forward(body.forward(batch)));
      for (const level of LEVELS) {
        const error = relativeError(pyramid[level] as tf.Tensor, reference(variant.name, `fpn_${level}`));
        expect(error).toBeLessThanOrEqual(1e-4);
      }
      tf.dispose([batch, ...images, ...Object.values(pyramid)]);
    });

    it('leaks no tensors across forward passes', () => {
      const input = batchInput();
      const counts: number[] = [];
      for (let round = 0; round < 2; round += 1) {
        const features = body.forward(input);
        const pyramid = fpn.forward(features);
        tf.dispose([...features, ...Object.values(pyramid)]);
        counts.push(tf.memory().numTensors);
      }
      expect(counts[1]).toBe(counts[0]);
      input.dispose();
    });

    it('names the missing key, and keeps nothing of a failed load', () => {
      const before = tf.memory().numTensors;
      const bn = variant.block === 'basic' ? 'bn2' : 'bn3';
      const missing = `backbone.body.layer3.0.${bn}.running_var`;
      expect(() => new ResNetBody(without(weights, missing))).toThrow(new UserError(`checkpoint has no '${missing}'`));
      const projection = 'backbone.body.layer2.0.downsample.0.weight';
      expect(() => new ResNetBody(without(weights, projection))).toThrow(`checkpoint has no '${projection}'`);
      expect(() => new ResNetBody(without(weights, 'backbone.body.conv1.weight'))).toThrow(
        "checkpoint has no 'backbone.body.conv1.weight'",
      );
      // A Bottleneck block without conv3 must not pass for a BasicBlock.
      const conv = `backbone.body.${variant.block === 'basic' ? 'layer4.0.conv2' : 'layer1.0.conv3'}.weight`;
      expect(() => new ResNetBody(without(weights, conv))).toThrow(`checkpoint has no '${conv}'`);
      const fpnBias = 'backbone.fpn.layer_blocks.2.0.bias';
      expect(() => new FeaturePyramidNetwork(without(weights, fpnBias))).toThrow(`checkpoint has no '${fpnBias}'`);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('rejects a tensor of the wrong shape by name', () => {
      const key = 'backbone.body.layer1.0.conv2.weight';
      const wrong = tf.zeros([3, 3, 3, 3]);
      const lookup: WeightLookup = (name) => (name === key ? wrong : weights.get(name));
      expect(() => new ResNetBody(lookup)).toThrow(`checkpoint tensor '${key}' has shape [3, 3, 3, 3]`);
      wrong.dispose();
    });
  });

  describe('depth and width inference on full-depth networks', () => {
    const networks = [
      { depth: 18, block: 'basic', blocks: [2, 2, 2, 2], expansion: 1 },
      { depth: 34, block: 'basic', blocks: [3, 4, 6, 3], expansion: 1 },
      { depth: 50, block: 'bottleneck', blocks: [3, 4, 6, 3], expansion: 4 },
      { depth: 101, block: 'bottleneck', blocks: [3, 4, 23, 3], expansion: 4 },
    ] as const;

    it.each(networks)('ResNet-$depth', ({ depth, block, blocks, expansion }) => {
      const widths = [2, 3, 4, 5];
      const weights = syntheticResNet(block, [...blocks], widths, 4);
      const before = tf.memory().numTensors;
      const body = new ResNetBody((name) => weights.get(name));
      const outChannels = widths.map((width) => width * expansion);
      expect(body.architecture).toEqual({ block, blocks, depth, stemChannels: 4, outChannels });
      // The weights are copies: the checkpoint can go.
      weights.forEach((tensor) => tensor.dispose());
      const input = tf.randomNormal([1, 64, 96, 3]) as tf.Tensor4D;
      const features = body.forward(input);
      expect(features.map((feature) => feature.shape)).toEqual(
        outChannels.map((channels, level) => [1, 64 / 2 ** (level + 2), 96 / 2 ** (level + 2), channels]),
      );
      tf.dispose([input, ...features]);
      body.dispose();
      expect(tf.memory().numTensors).toBe(before - weights.size);
    });

    it('gives PyTorch output sizes for odd inputs (symmetric padding)', () => {
      const weights = syntheticResNet('basic', [1, 1, 1, 1], [2, 2, 2, 2], 2);
      const body = new ResNetBody((name) => weights.get(name), { prefix: 'backbone.body' });
      const input = tf.zeros([1, 37, 51, 3]) as tf.Tensor4D;
      const features = body.forward(input);
      // floor((n + 2p - k) / s) + 1 at each stride-2 step, as torchvision's resnet18 gives for a 37x51 input:
      // 37 -> 19 -> 10 -> 5 -> 3 -> 2 and 51 -> 26 -> 13 -> 7 -> 4 -> 2.
      expect(features.map((feature) => feature.shape.slice(1, 3))).toEqual([
        [10, 13],
        [5, 7],
        [3, 4],
        [2, 2],
      ]);
      tf.dispose([input, ...features]);
      body.dispose();
      weights.forEach((tensor) => tensor.dispose());
    });
  });
});
