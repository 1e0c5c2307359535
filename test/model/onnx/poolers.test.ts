/**
 * The ONNX pooler (host-side level assignment and scaling, ONNX RoiAlign in the graph) against torchvision's
 * MultiScaleRoIAlign: the stage fixtures of tools/fixtures/make_ops_fixtures.py that the TF.js pooler is held to.
 */
import { loadOnnxRuntime } from '../../../src/model/backend';
import { OnnxGraph } from '../../../src/model/onnx/graph';
import { declarePoolingInputs, multiScaleRoiAlign, preparePooling, unpermuteRows } from '../../../src/model/onnx/poolers';
import { fixtureFolder, maxAbsDiff } from '../../support/fixtures';

const ort = loadOnnxRuntime();
const { fixture, f32 } = fixtureFolder('ops');
const LEVELS = 4;

/** One image's `[H, W, C]` plane of an NHWC batch, as NCHW `[1, C, H, W]`. */
function nchw(name: string, image: number): { data: Float32Array; dims: number[] } {
  const array = fixture(name);
  const [, h, w, c] = array.shape as [number, number, number, number];
  const values = array.data as Float32Array;
  const out = new Float32Array(c * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = values[((image * h + y) * w + x) * c + k] as number;
  return { data: out, dims: [1, c, h, w] };
}

describe('multiScaleRoiAlign in the graph (ONNX Runtime)', () => {
  it.each([7, 14])('matches MultiScaleRoIAlign with output %i, both images of the batch, every level and the unassigned', async (size) => {
    const channels = fixture('msra/features_0').shape[3] as number;
    const graph = new OnnxGraph('pooler');
    const inputs = declarePoolingInputs(graph, LEVELS, channels);
    graph.output(multiScaleRoiAlign(graph, inputs, size, 2, 'pool'), 'pooled', 'float', ['rois', channels, size, size]);
    const session = await ort.InferenceSession.create(graph.serialize('pooler'));
    try {
      const boxes = f32('msra/boxes');
      const batch = Array.from(fixture('msra/batch').data as BigInt64Array, Number);
      // torchvision infers the scales from the largest image of the batch.
      const imageHeight = Math.max(...Array.from(fixture('msra/image_sizes').data as BigInt64Array, Number).filter((_, i) => i % 2 === 0));
      const expected = f32(`msra/out_${size}`);
      let worst = 0;
      for (const image of [0, 1]) {
        const rows = batch.flatMap((b, r) => (b === image ? [r] : []));
        const features = Array.from({ length: LEVELS }, (_, level) => nchw(`msra/features_${level}`, image));
        const pooling = preparePooling(Float32Array.from(rows.flatMap((r) => Array.from(boxes.subarray(4 * r, 4 * r + 4)))), features.map((f) => f.dims[2] as number), imageHeight);
        const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
          rois: new ort.Tensor('float32', pooling.rois, [rows.length, 4]),
          level_bounds: new ort.Tensor('int64', pooling.levelBounds, [LEVELS + 1]),
          pads: new ort.Tensor('int64', pooling.pads, [8]),
        };
        features.forEach((f, level) => (feeds[`features.${level}`] = new ort.Tensor('float32', f.data, f.dims)));
        const out = await session.run(feeds);
        const pooled = unpermuteRows(out.pooled?.data as Float32Array, pooling.order, channels * size * size);
        // The fixture's rows are NHWC [P, P, C]; ours NCHW [C, P, P].
        const theirs = Float32Array.from(rows.flatMap((r) => {
          const row: number[] = [];
          for (let k = 0; k < channels; k++) for (let i = 0; i < size * size; i++) row.push(expected[(r * size * size + i) * channels + k] as number);
          return row;
        }));
        worst = Math.max(worst, maxAbsDiff(pooled, theirs));
      }
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  });
});
