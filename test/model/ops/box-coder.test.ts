import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BOX_CODER_DEFAULTS, decodeBoxes, encodeBoxes } from '../../../src/model/ops/box-coder';
import { readNpy } from '../../../src/model/weights/npy';
import { maxAbsDiff } from '../../support/fixtures';

// Reference values: torchvision's BoxCoder, written by tools/fixtures/make_ops_fixtures.py.
function fixture(name: string): { data: Float32Array; shape: number[] } {
  const array = readNpy(join(__dirname, '..', '..', 'fixtures', 'ops', 'box_coder', `${name}.npy`));
  if (array.dtype !== 'float32') throw new Error(`${name}: float32 expected, got ${array.dtype}`);
  return { data: array.data as Float32Array, shape: array.shape };
}

function tensor2d(name: string): tf.Tensor2D {
  const { data, shape } = fixture(name);
  return tf.tensor2d(data, [shape[0], shape[1]]);
}

/**
 * The largest |actual − expected| beyond the allowed error: 1e-4 px, or 2 float32 ULPs of the expected value where
 * that is larger. torch's vectorised float32 exp is within 1 ULP, not correctly rounded, so decoded widths can
 * differ by one ULP, and 1e-4 is below float32 resolution for coordinates of 2048 and more (the clamp cases reach
 * ±5000). Returns 0 when everything is within tolerance.
 */
function excessError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const ulp = 2 ** (Math.floor(Math.log2(Math.abs(expected[i]) || 1)) - 23);
    const d = Math.abs(actual[i] - expected[i]);
    const excess = Number.isNaN(d) ? Infinity : d - Math.max(1e-4, 2 * ulp);
    worst = Math.max(worst, excess);
  }
  return worst;
}

/** Runs `body`, checking that it leaves no tensor behind; returns its result. */
function noLeaks<T>(body: () => T): T {
  const before = tf.memory().numTensors;
  const result = body();
  expect(tf.memory().numTensors).toBe(before);
  return result;
}

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  expect(await tf.setBackend('cpu')).toBe(true);
});

describe('decodeBoxes (torchvision BoxCoder.decode_single)', () => {
  it.each([
    ['1111', BOX_CODER_DEFAULTS.rpnWeights],
    ['10555', BOX_CODER_DEFAULTS.roiHeadsWeights],
  ] as const)('matches torchvision with weights %s', (tag, weights) => {
    const expected = fixture(`decoded_${tag}`);
    const deltas = tensor2d('deltas');
    const reference = tensor2d('reference');
    const decoded = noLeaks(() => {
      const out = decodeBoxes(deltas, reference, weights);
      const values = out.dataSync();
      out.dispose();
      return values;
    });
    expect(excessError(decoded, expected.data)).toBe(0);
    tf.dispose([deltas, reference]);
  });

  it('clamps dw and dh at log(1000/16) from above only', () => {
    expect(BOX_CODER_DEFAULTS.bboxXformClip).toBeCloseTo(4.135166556742356, 15);
    const out = noLeaks(() =>
      tf.tidy(() =>
        decodeBoxes(
          tf.tensor2d([0, 0, 100, 0, 0, 0, -3, 4.135166556742356], [1, 8]),
          tf.tensor2d([10, 20, 14, 30], [1, 4]),
          BOX_CODER_DEFAULTS.rpnWeights,
        ).dataSync(),
      ),
    );
    // Width 4 · e^clip = 4 · 62.5 = 250 around centre 12, not Infinity; height 10 is untouched (dh 0).
    expect(out[0]).toBeCloseTo(12 - 125, 3);
    expect(out[2]).toBeCloseTo(12 + 125, 3);
    expect([out[1], out[3]]).toEqual([20, 30]);
    // A negative dw is not clamped: 4·e^-3 wide. dh at exactly the clip is the clip.
    expect(out[6] - out[4]).toBeCloseTo(4 * Math.exp(-3), 5);
    expect(out[7] - out[5]).toBeCloseTo(625, 3);
  });

  it('decodes k sets of deltas per box in class-major column order', () => {
    const out = noLeaks(() =>
      tf.tidy(() =>
        decodeBoxes(
          tf.tensor2d([0, 0, 0, 0, 10, 0, 0, 0], [1, 8]),
          tf.tensor2d([0, 0, 20, 10], [1, 4]),
          BOX_CODER_DEFAULTS.roiHeadsWeights,
        ).dataSync(),
      ),
    );
    // Set 0 is the reference itself; set 1 moves it by one width (dx 10 / weight 10).
    expect(Array.from(out)).toEqual([0, 0, 20, 10, 20, 0, 40, 10]);
  });

  it('rejects mismatched shapes', () => {
    const deltas = tf.zeros([2, 6]) as tf.Tensor2D;
    const reference = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => decodeBoxes(deltas, reference, BOX_CODER_DEFAULTS.rpnWeights)).toThrow(/multiple of 4/);
    tf.dispose([deltas, reference]);
  });
});

describe('encodeBoxes (torchvision encode_boxes)', () => {
  it('matches torchvision with weights (10, 10, 5, 5)', () => {
    const targets = tensor2d('targets');
    const reference = tensor2d('reference_encode');
    const encoded = noLeaks(() => tf.tidy(() => encodeBoxes(targets, reference, [10, 10, 5, 5]).dataSync()));
    expect(maxAbsDiff(encoded, fixture('encoded_10555').data)).toBeLessThanOrEqual(1e-4);
    tf.dispose([targets, reference]);
  });

  it('is the inverse of decodeBoxes', () => {
    const targets = tensor2d('targets');
    const reference = tensor2d('reference_encode');
    const roundTrip = noLeaks(() =>
      tf.tidy(() => decodeBoxes(encodeBoxes(targets, reference, [10, 10, 5, 5]), reference, [10, 10, 5, 5]).dataSync()),
    );
    expect(maxAbsDiff(roundTrip, targets.dataSync())).toBeLessThanOrEqual(1e-3);
    tf.dispose([targets, reference]);
  });
});
