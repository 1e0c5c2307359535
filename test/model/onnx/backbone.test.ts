/**
 * The ONNX ResNet body and FPN against torchvision's BackboneWithFPN: the stage fixtures of
 * tools/fixtures/make_backbone_fixtures.py (narrow ResNets of both block types, random weights and frozen batch-norm
 * statistics, a batch of two transformed images) that the TF.js modules are held to, with the same 1e-4 tolerance.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadOnnxRuntime } from '../../../src/model/backend';
import { resnetBody } from '../../../src/model/onnx/backbone';
import { featurePyramid } from '../../../src/model/onnx/fpn';
import { OnnxGraph } from '../../../src/model/onnx/graph';
import { Parameters } from '../../../src/model/onnx/parameters';
import { readNpy } from '../../../src/model/weights/npy';
import { fromFloat32, type RawTensor } from '../../../src/model/weights/tensor';

const ort = loadOnnxRuntime();
const fixture = (...parts: string[]): string => join(__dirname, '..', '..', 'fixtures', 'backbone', ...parts);

const VARIANTS = [
  { name: 'basic', block: 'basic', blocks: [2, 1, 2, 1], stageChannels: [8, 16, 24, 32] },
  { name: 'bottleneck', block: 'bottleneck', blocks: [1, 2, 1, 1], stageChannels: [16, 32, 48, 64] },
] as const;
const OUTPUTS = ['c2', 'c3', 'c4', 'c5', 'fpn_0', 'fpn_1', 'fpn_2', 'fpn_3', 'fpn_pool'];

function weights(variant: string): Map<string, RawTensor> {
  const folder = fixture(variant, 'weights');
  return new Map(
    readdirSync(folder).map((file) => {
      const array = readNpy(join(folder, file));
      return [file.replace(/\.npy$/, ''), fromFloat32(array.data as Float32Array, array.shape)];
    }),
  );
}

/** max |actual - expected| over max |expected|, both NCHW. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  expected.forEach((value, i) => {
    diff = Math.max(diff, Math.abs((actual[i] as number) - value));
    scale = Math.max(scale, Math.abs(value));
  });
  expect(scale).toBeGreaterThan(0.1);
  return diff / scale;
}

describe.each(VARIANTS)('the ResNet body and FPN in the graph, $name blocks, against torchvision', (variant) => {
  it('C2..C5 and the FPN levels match to 1e-4 relative', async () => {
    const params = new Parameters(weights(variant.name));
    const eps = (readNpy(fixture(variant.name, 'meta.npy')).data as Float64Array)[0] as number;
    const graph = new OnnxGraph('backbone');
    const images = graph.input('images', 'float', ['n', 3, 'h', 'w']);
    const stages = resnetBody(graph, params, images, { block: variant.block, blocks: [...variant.blocks], stemChannels: 8, stageChannels: [...variant.stageChannels] }, eps);
    const levels = featurePyramid(graph, params, stages, 16);
    [...stages.map((stage) => stage.value), ...levels].forEach((value, i) => graph.output(value, OUTPUTS[i] as string, 'float', ['n', 'c', 'y', 'x']));
    const session = await ort.InferenceSession.create(graph.serialize('backbone'));
    try {
      const batch = readNpy(fixture('transform', 'batch.npy'));
      const out = await session.run({ images: new ort.Tensor('float32', batch.data as Float32Array, batch.shape) });
      for (const name of OUTPUTS) {
        const expected = readNpy(fixture(variant.name, `${name}.npy`));
        expect(out[name]?.dims).toEqual(expected.shape);
        expect(relativeError(out[name]?.data as Float32Array, expected.data as Float32Array)).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      await session.release();
    }
  });
});
