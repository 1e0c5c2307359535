/**
 * The ONNX engine's own parts: the protobuf writer and graph builder (every attribute kind, negative int64s,
 * dynamic dimensions, run by ONNX Runtime itself), the graph cache, and the engine's handling of RGBA input, empty
 * results and its sessions. Parity with torchvision is in the parity suites beside this folder.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOnnxRuntime } from '../../../src/model/backend';
import { loadModelDirectory } from '../../../src/model/model-dir';
import * as cache from '../../../src/model/onnx/cache';
import { OnnxGraph } from '../../../src/model/onnx/graph';
import * as graphs from '../../../src/model/onnx/graphs';
import { OnnxMaskRCNN } from '../../../src/model/onnx/mask-rcnn';
import { readNpy } from '../../../src/model/weights/npy';
import type { RawTensor } from '../../../src/model/weights/tensor';
import { tempDir } from '../../support/media';
import { TINY_FIXTURES, convertTinyModel } from '../../support/tiny-model';

const ort = loadOnnxRuntime();

describe('the graph writer', () => {
  it('writes a model ONNX Runtime loads and runs: initializers, int, ints (negative), float and string attributes', async () => {
    const graph = new OnnxGraph('test');
    const x = graph.input('x', 'float', ['n', 3]);
    const weight = graph.initializer('weight', [3, 2], Float32Array.from([1, 0, 0, 1, 1, 1]));
    const product = graph.node('Gemm', [x, weight, graph.float('bias', [0.5, -0.5], [2])], { alpha: { float: 2 } });
    const softmax = graph.node('Softmax', [product], { axis: { int: -1 } });
    const flipped = graph.node('Transpose', [product], { perm: { ints: [1, 0] } });
    const sliced = graph.node('Slice', [flipped, graph.int64([-1]), graph.int64([1_000_000]), graph.int64([0])]);
    const padded = graph.node('Pad', [sliced, graph.int64([0, 1, 0, 0])], { mode: { string: 'constant' } });
    graph.output(softmax, 'softmax', 'float', ['n', 2]);
    graph.output(padded, 'padded', 'float', [1, 'm']);
    const session = await ort.InferenceSession.create(graph.serialize('test'));
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, -1, 0, 4]), [2, 3]) });
    // x · W: [4, 5] and [3, 4]; times 2 plus the bias: [8.5, 9.5] and [6.5, 7.5].
    expect(Array.from(out.padded?.data as Float32Array)).toEqual([0, 9.5, 7.5]);
    const softmaxValues = out.softmax?.data as Float32Array;
    expect(softmaxValues[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    await session.release();
  });

  it('refuses an initializer whose values do not fill its shape, and a value defined twice', () => {
    const graph = new OnnxGraph('test');
    expect(() => graph.initializer('w', [2, 2], new Float32Array(3))).toThrow(/'w' has 3 values for \[2, 2\]/);
    graph.input('x', 'float', [1]);
    expect(() => graph.input('x', 'float', [1])).toThrow(/'x' is defined twice/);
  });
});

describe('the ONNX engine on the tiny model', () => {
  const dir = tempDir();
  let config: ReturnType<typeof loadModelDirectory>['config'];
  let tensors: Map<string, RawTensor>;
  beforeAll(() => {
    convertTinyModel(dir.path);
    ({ config, tensors } = loadModelDirectory(dir.path));
  });
  afterAll(() => dir.remove());
  afterEach(() => jest.restoreAllMocks());

  it('caches its graphs by the weights: a second start reads them, changed weights write new ones', async () => {
    const cacheDir = join(dir.path, 'cache');
    const write = jest.spyOn(graphs, 'writeGraphs');
    await (await OnnxMaskRCNN.create(config, tensors, ort, { provider: 'cpu', threads: 1, cacheDir })).dispose();
    expect(write).toHaveBeenCalledTimes(1);
    const files = readdirSync(cacheDir).sort();
    expect(files).toHaveLength(3);
    expect(files.every((file) => /^[0-9a-f]{32}\.(boxes|features|masks)\.onnx$/.test(file))).toBe(true);

    await (await OnnxMaskRCNN.create(config, tensors, ort, { provider: 'cpu', threads: 1, cacheDir })).dispose();
    expect(write).toHaveBeenCalledTimes(1);

    const changed = new Map(tensors);
    const bias = tensors.get('roi_heads.box_predictor.cls_score.bias') as RawTensor;
    const data = Uint8Array.from(bias.data);
    data[0] = (data[0] as number) ^ 1;
    changed.set('roi_heads.box_predictor.cls_score.bias', { ...bias, data });
    expect(cache.graphKey(config, changed)).not.toBe(cache.graphKey(config, tensors));
    await (await OnnxMaskRCNN.create(config, changed, ort, { provider: 'cpu', threads: 1, cacheDir })).dispose();
    expect(write).toHaveBeenCalledTimes(2);
    expect(readdirSync(cacheDir)).toHaveLength(6);
  });

  it('runs from freshly written graphs when the cache cannot be written', async () => {
    const blocked = join(dir.path, 'not-a-directory');
    writeFileSync(blocked, '');
    const model = await OnnxMaskRCNN.create(config, tensors, ort, { provider: 'cpu', threads: 1, cacheDir: join(blocked, 'cache') });
    expect(existsSync(join(blocked, 'cache'))).toBe(false);
    await model.dispose();
  });

  it('gives RGBA the same result as RGB, holds no output tensors between images, and refuses use after dispose', async () => {
    const model = await OnnxMaskRCNN.create(config, tensors, ort, { provider: 'cpu', threads: 1 });
    const pixels = readNpy(join(TINY_FIXTURES, 'image0.npy'));
    const [height, width] = pixels.shape as [number, number, number];
    const rgb = pixels.data as Uint8Array;
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      rgba.set(rgb.subarray(3 * i, 3 * i + 3), 4 * i);
      rgba[4 * i + 3] = 255;
    }
    const fromRgb = await model.detect({ width, height, format: 'rgb', data: rgb });
    const fromRgba = await model.detect({ width, height, format: 'rgba', data: rgba });
    expect(fromRgb.length).toBeGreaterThan(5);
    expect(fromRgba.map((d) => [d.box, d.score, d.classId])).toEqual(fromRgb.map((d) => [d.box, d.score, d.classId]));
    expect(model.liveTensors()).toBe(0);

    // A class the detections do not have, and a score nothing reaches: no masks computed, nothing returned.
    expect(await model.detect({ width, height, format: 'rgb', data: rgb }, undefined, { minScore: 1.5 })).toEqual([]);
    expect(model.liveTensors()).toBe(0);
    await expect(model.detect({ width, height, format: 'rgb', data: rgb.subarray(1) })).rejects.toThrow(/expected \d+x\d+x3/);
    await model.dispose();
    await expect(model.detect({ width, height, format: 'rgb', data: rgb })).rejects.toThrow(/used after dispose/);
  });
});
