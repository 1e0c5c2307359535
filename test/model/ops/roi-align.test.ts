import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { MULTI_SCALE_ROI_ALIGN_DEFAULTS, inferScale, mapLevels, multiScaleRoiAlign } from '../../../src/model/ops/poolers';
import { type HostFeatures, roiAlign, roiAlignReference } from '../../../src/model/ops/roi-align';
import { fixtureFolder, maxAbsDiff } from '../../support/fixtures';
import { seededRandom } from '../../support/random';

// Reference values: torchvision.ops.roi_align and MultiScaleRoIAlign, written by tools/fixtures/make_ops_fixtures.py
// (NHWC, the layout used here).
const { fixture, f32 } = fixtureFolder('ops');

function ints(name: string): Int32Array {
  const array = fixture(name);
  if (array.dtype !== 'int64') throw new Error(`${name}: int64 expected, got ${array.dtype}`);
  // Out-of-int32 values (torchvision's NaN level) become -1, never a valid index.
  return Int32Array.from(array.data as BigInt64Array, (v) => (v > 2n ** 31n || v < -(2n ** 31n) ? -1 : Number(v)));
}

function host(name: string): HostFeatures {
  const array = fixture(name);
  const [n, h, w, c] = array.shape;
  return { data: array.data as Float32Array, shape: [n, h, w, c] };
}

function toTensor(features: HostFeatures): tf.Tensor4D {
  return tf.tensor4d(features.data, [...features.shape]);
}

/** Downloads a result made by `body`, checking that nothing else it made is left behind. */
function run(body: () => tf.Tensor): Float32Array {
  const before = tf.memory().numTensors;
  const out = body();
  const values = out.dataSync() as Float32Array;
  out.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return values;
}

const ROI_CASES: [number, number][] = [
  [7, 2],
  [14, 2],
  [5, 3],
  [1, 1],
];

const errors: string[] = [];

afterAll(() => {
  // The measured errors, for the record (jest shows console output of passing suites with --verbose).
  console.log(errors.join('\n'));
});

describe('roiAlignReference (the CPU kernel in TypeScript)', () => {
  it.each(ROI_CASES)('matches torchvision roi_align, output %i, sampling ratio %i', (size, ratio) => {
    const out = roiAlignReference(host('roi_align/features'), f32('roi_align/boxes'), size, 0.5, {
      samplingRatio: ratio,
      batchIndices: ints('roi_align/batch'),
    });
    const error = maxAbsDiff(out, f32(`roi_align/out_${size}_${ratio}`));
    errors.push(`reference roi_align ${size}/${ratio}: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-6);
  });

  it('refuses adaptive sampling', () => {
    const features = host('roi_align/features');
    expect(() => roiAlignReference(features, new Float32Array(4), 7, 1, { samplingRatio: 0 })).toThrow(
      /sampling ratio 0 is not supported/,
    );
  });
});

describe('mapLevels and inferScale (LevelMapper, _infer_scale)', () => {
  it("defaults to Mask R-CNN's poolers", () => {
    expect(MULTI_SCALE_ROI_ALIGN_DEFAULTS).toEqual({
      samplingRatio: 2,
      canonicalScale: 224,
      canonicalLevel: 4,
      eps: 1e-6,
    });
  });

  it("assigns torchvision's levels", () => {
    expect(Array.from(mapLevels(f32('msra/boxes'), 2, 5))).toEqual(Array.from(ints('msra/levels')));
  });

  it('agrees with torchvision on boxes at the level boundaries up to rounding (where the eps decides)', () => {
    expect(Array.from(mapLevels(f32('msra/mapper_boxes'), 2, 5))).toEqual(Array.from(ints('msra/mapper_levels')));
  });

  it('puts sides 112, 224 and 448 on the upper level, and just below them on the lower', () => {
    const square = (side: number): number[] => [10, 10, 10 + side, 10 + side];
    const boxes = new Float32Array([111.9, 112, 223.99, 224, 447.9, 448, 5000, 0.5].flatMap(square));
    expect(Array.from(mapLevels(boxes, 2, 5))).toEqual([0, 1, 1, 2, 2, 3, 3, 0]);
    expect(Array.from(mapLevels(new Float32Array([30, 10, 20, 40]), 2, 5))).toEqual([-1]);
  });

  it('infers 1/4 ... 1/32 for FPN maps of an 800x1066 image padded to 800x1088', () => {
    expect([200, 100, 50, 25].map((h) => inferScale(h, 800))).toEqual([1 / 4, 1 / 8, 1 / 16, 1 / 32]);
    // 799-high images (the f32 resize rule) still round to the same powers of two.
    expect([200, 100, 50, 25].map((h) => inferScale(h, 799))).toEqual([1 / 4, 1 / 8, 1 / 16, 1 / 32]);
  });
});

describe.each(['cpu', 'wasm'])('on the %s backend', (backend) => {
  beforeAll(async () => {
    tf.env().set('IS_TEST', true);
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
  });

  it.each(ROI_CASES)('roiAlign matches torchvision, output %i, sampling ratio %i', (size, ratio) => {
    const features = toTensor(host('roi_align/features'));
    const out = run(() =>
      roiAlign(features, f32('roi_align/boxes'), size, 0.5, {
        samplingRatio: ratio,
        batchIndices: ints('roi_align/batch'),
      }),
    );
    features.dispose();
    const error = maxAbsDiff(out, f32(`roi_align/out_${size}_${ratio}`));
    errors.push(`${backend} roiAlign ${size}/${ratio}: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-5);
  });

  it.each([7, 14])('multiScaleRoiAlign matches MultiScaleRoIAlign with output %i', (size) => {
    const features = [0, 1, 2, 3].map((i) => toTensor(host(`msra/features_${i}`)));
    const sizes = ints('msra/image_sizes');
    const imageSize: [number, number] = [Math.max(sizes[0], sizes[2]), Math.max(sizes[1], sizes[3])];
    const out = run(() =>
      multiScaleRoiAlign(features, f32('msra/boxes'), imageSize, size, { batchIndices: ints('msra/batch') }),
    );
    tf.dispose(features);
    const expected = f32(`msra/out_${size}`);
    const error = maxAbsDiff(out, expected);
    errors.push(`${backend} multiScaleRoiAlign ${size}: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-5);
    // Every level was used, and the negative-area RoI pooled to zeros as in torchvision.
    expect(new Set(ints('msra/levels'))).toEqual(new Set([-1, 0, 1, 2, 3]));
    const perRoi = size * size * 3;
    expect(out.subarray(18 * perRoi, 19 * perRoi).every((v) => v === 0)).toBe(true);
  });

  it("never takes the wasm cropAndResize's copy shortcut, which reads the wrong columns", () => {
    // A 13x13 map has a 17x17 atlas (normalized step 1/16). This RoI's 14 samples per axis are exactly one pixel
    // apart and start on whole atlas pixels (x at 3, y at 0): the case where tfjs-backend-wasm 4.22 copies rows from
    // column 0 instead of interpolating from the crop's own columns.
    const data = Float32Array.from({ length: 13 * 13 * 2 }, (_, i) => Math.sin(i * 0.37) + (i % 26) / 13);
    const boxes = new Float32Array([0.5, -2.5, 14.5, 11.5, 1.5, 0.5, 8.5, 6.5]);
    const features = tf.tensor4d(data, [1, 13, 13, 2]);
    const out = run(() => roiAlign(features, boxes, 7, 1));
    features.dispose();
    const reference = roiAlignReference({ data, shape: [1, 13, 13, 2] }, boxes, 7, 1);
    expect(maxAbsDiff(out, reference)).toBeLessThanOrEqual(1e-5);
  });

  it('returns [0, P, P, C] for no RoIs', () => {
    const features = [tf.zeros([1, 8, 8, 3]), tf.zeros([1, 4, 4, 3])] as tf.Tensor4D[];
    const before = tf.memory().numTensors;
    const out = multiScaleRoiAlign(features, new Float32Array(0), [32, 32], 7);
    expect(out.shape).toEqual([0, 7, 7, 3]);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(features);
  });

  it('stays close to the kernel on full-size FPN maps (800x1066 image padded to 800x1088)', () => {
    // Far from the origin cropAndResize's float32 normalized corners cost precision (see roi-align.ts); this
    // measures it where it is worst: the largest maps Mask R-CNN pools from, features uniform in [-1, 1].
    const next = seededRandom(7);
    const c = 4;
    const levels: HostFeatures[] = [
      [200, 272],
      [100, 136],
      [50, 68],
      [25, 34],
    ].map(([h, w]) => ({ data: Float32Array.from({ length: h * w * c }, () => next() * 2 - 1), shape: [1, h, w, c] }));
    const k = 400;
    const boxes = new Float32Array(k * 4);
    for (let r = 0; r < k; r++) {
      // Sides log-uniform in [2, 800] px, so every level gets RoIs; clipped to the image as the RPN clips them.
      const side = 2 * 400 ** next();
      const aspect = Math.exp(next() * 1.4 - 0.7);
      const [w, h] = [side * aspect, side / aspect];
      const [x, y] = [next() * 1066 - w / 2, next() * 800 - h / 2];
      boxes.set([Math.max(x, 0), Math.max(y, 0), Math.min(x + w, 1066), Math.min(y + h, 800)], r * 4);
    }
    const features = levels.map(toTensor);
    const out = run(() => multiScaleRoiAlign(features, boxes, [800, 1066], 7));
    tf.dispose(features);

    // The reference: torchvision's per-level loop over roiAlignReference, results written back in RoI order.
    const assigned = mapLevels(boxes, 2, 5);
    const reference = new Float32Array(out.length);
    const perRoi = 7 * 7 * c;
    for (let level = 0; level < 4; level++) {
      const members = Array.from(assigned.keys()).filter((r) => assigned[r] === level);
      expect(members.length).toBeGreaterThan(10);
      const levelBoxes = Float32Array.from(members.flatMap((r) => Array.from(boxes.subarray(r * 4, r * 4 + 4))));
      const pooled = roiAlignReference(levels[level], levelBoxes, 7, 2 ** -(level + 2));
      members.forEach((r, i) => reference.set(pooled.subarray(i * perRoi, (i + 1) * perRoi), r * perRoi));
    }
    const error = maxAbsDiff(out, reference);
    errors.push(`${backend} multiScaleRoiAlign on 800x1088 FPN maps, values in [-1, 1]: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-4);
  });
});
