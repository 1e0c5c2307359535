import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readNpy } from '../../src/model/weights/npy';
import {
  MASKRCNN_TRANSFORM,
  type TransformConfig,
  boxRatios,
  postprocessBoxes,
  resizeScale,
  resizedSize,
  transformImages,
} from '../../src/model/transform';

// Written by tools/fixtures/make_backbone_fixtures.py from torchvision 0.14's GeneralizedRCNNTransform.
const fixture = (...parts: string[]): string => join(__dirname, '..', 'fixtures', 'backbone', ...parts);

/** The fixture's settings: small sizes keep the tensors small; 61x47 lands on 63, the twin of 799. */
const SMALL: TransformConfig = { ...MASKRCNN_TRANSFORM, minSize: 64, maxSize: 112 };

function imageTensor(index: number): tf.Tensor3D {
  const image = readNpy(fixture('images', `image${index}.npy`));
  return tf.tensor3d(Int32Array.from(image.data as Uint8Array), image.shape as [number, number, number], 'int32');
}

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i += 1) {
    worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  }
  return worst;
}

describe('resizeScale / resizedSize (the two-rounding float32 rule)', () => {
  // The spec's table, checked there against torchvision: input, scale to 10 decimals, resized size.
  const table: [number, number, number, number, number][] = [
    [480, 640, 1.6666667461, 800, 1066],
    [427, 640, 1.8735362291, 799, 1199],
    [375, 500, 2.1333332062, 799, 1066],
    [500, 333, 2.402402401, 1201, 799],
    [1500, 2000, 0.5333333015, 799, 1066],
    [1000, 1000, 0.8000000119, 800, 800],
    [640, 481, 1.6632016897, 1064, 800],
    [100, 5000, 0.266599983, 26, 1332],
  ];

  it.each(table)('%i x %i -> scale %f, %i x %i', (height, width, scale, h, w) => {
    expect(Math.abs(resizeScale(height, width, 800, 1333) - scale)).toBeLessThan(1e-10);
    expect(resizedSize(height, width, 800, 1333)).toEqual([h, w]);
  });

  it('returns a float32 value', () => {
    const scale = resizeScale(427, 640, 800, 1333);
    expect(Math.fround(scale)).toBe(scale);
    // The naive double-precision quotient would give 800 here.
    expect(Math.floor(427 * (800 / 427))).toBe(800);
  });

  it('matches torchvision on 600 random sizes and five min/max settings', () => {
    const cases = readNpy(fixture('transform', 'resize_cases.npy'));
    const scales = readNpy(fixture('transform', 'resize_scales.npy')).data as Float64Array;
    const data = Array.from(cases.data as BigInt64Array, Number);
    const mismatches: string[] = [];
    let shortByOne = 0;
    for (let row = 0; row < (cases.shape[0] as number); row += 1) {
      const [height, width, minSize, maxSize, h, w] = data.slice(row * 6, row * 6 + 6) as number[] as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const scale = resizeScale(height, width, minSize, maxSize);
      const size = resizedSize(height, width, minSize, maxSize);
      if (scale !== scales[row] || size[0] !== h || size[1] !== w) {
        const torch = `${h}x${w} at ${scales[row]}`;
        mismatches.push(`${height}x${width} (${minSize}, ${maxSize}): ${size.join('x')} at ${scale}, torch ${torch}`);
      }
      if (Math.min(h, w) === minSize - 1) shortByOne += 1;
    }
    expect(mismatches).toEqual([]);
    // The fixture would be worthless for this rule if it never hit it.
    expect(shortByOne).toBeGreaterThan(50);
  });
});

describe('boxRatios', () => {
  it('are per-axis float32 quotients of the sizes, not 1/scale', () => {
    const [rh, rw] = boxRatios([799, 1199], [427, 640]);
    expect(rh).toBe(Math.fround(427 / 799));
    expect(rw).toBe(Math.fround(640 / 1199));
    expect(rh).not.toBe(rw);
  });
});

const BACKENDS = ['cpu', 'wasm'] as const;

describe.each(BACKENDS)('on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
  });

  const expectedBatch = readNpy(fixture('transform', 'batch.npy'));
  const expectedSizes = Array.from(readNpy(fixture('transform', 'image_sizes.npy')).data as Int32Array);

  /** torchvision's NCHW batch as NHWC values. */
  function expectedNhwc(): Float32Array {
    const shape = expectedBatch.shape as [number, number, number, number];
    const nchw = tf.tensor4d(expectedBatch.data as Float32Array, shape);
    const values = tf.tidy(() => tf.transpose(nchw, [0, 2, 3, 1]).dataSync());
    nchw.dispose();
    return values as Float32Array;
  }

  it('transformImages on uint8 (int32) images matches GeneralizedRCNNTransform to 1e-5', () => {
    const images = [imageTensor(0), imageTensor(1)];
    const result = transformImages(images, SMALL);
    expect(result.originalSizes).toEqual([
      [45, 70],
      [61, 47],
    ]);
    expect(result.imageSizes.flat()).toEqual(expectedSizes);
    // 61x47 is the short-by-one case: 63, not 64.
    expect(result.imageSizes[1]).toEqual([83, 63]);
    expect(result.batch.shape).toEqual([2, 96, 128, 3]);
    expect(maxAbsDiff(result.batch.dataSync(), expectedNhwc())).toBeLessThanOrEqual(1e-5);
    result.batch.dispose();
    images.forEach((image) => image.dispose());
  });

  it('float [0, 1] images give the same batch', () => {
    const images = [0, 1].map((index) => {
      const raw = readNpy(fixture('images', `image${index}.npy`));
      const unit = Float32Array.from(raw.data as Uint8Array, (value) => value / 255);
      return tf.tensor3d(unit, raw.shape as [number, number, number], 'float32');
    });
    const result = transformImages(images, SMALL);
    expect(maxAbsDiff(result.batch.dataSync(), expectedNhwc())).toBeLessThanOrEqual(1e-5);
    result.batch.dispose();
    images.forEach((image) => image.dispose());
  });

  it('pads with zeros in normalized space, bottom and right only', () => {
    const image = tf.fill([10, 20, 3], 255, 'int32') as tf.Tensor3D;
    const result = transformImages([image], { ...SMALL, minSize: 20, maxSize: 40 });
    expect(result.imageSizes).toEqual([[20, 40]]);
    expect(result.batch.shape).toEqual([1, 32, 64, 3]);
    const values = result.batch.arraySync()[0] as number[][][];
    const { imageMean, imageStd } = MASKRCNN_TRANSFORM;
    const white = [0, 1, 2].map((c) => Math.fround((1 - imageMean[c]) / imageStd[c]));
    for (let c = 0; c < 3; c += 1) {
      expect(values[0]?.[0]?.[c]).toBeCloseTo(white[c] as number, 5);
      expect(values[19]?.[39]?.[c]).toBeCloseTo(white[c] as number, 5);
    }
    expect(values[20]?.[0]).toEqual([0, 0, 0]);
    expect(values[0]?.[40]).toEqual([0, 0, 0]);
    expect(values[31]?.[63]).toEqual([0, 0, 0]);
    result.batch.dispose();
    image.dispose();
  });

  it('postprocessBoxes matches resize_boxes exactly', () => {
    for (const index of [0, 1]) {
      const boxes = readNpy(fixture('transform', `boxes${index}.npy`));
      const expected = readNpy(fixture('transform', `boxes${index}_orig.npy`));
      const size = expectedSizes.slice(index * 2, index * 2 + 2) as [number, number];
      const original = index === 0 ? ([45, 70] as [number, number]) : ([61, 47] as [number, number]);
      const output = postprocessBoxes(boxes.data as Float32Array, size, original);
      expect(Array.from(output)).toEqual(Array.from(expected.data as Float32Array));
    }
  });

  it('rejects what torchvision would not take', () => {
    const gray = tf.zeros([8, 8, 1]) as tf.Tensor3D;
    const flags = tf.zeros([8, 8, 3], 'bool') as tf.Tensor3D;
    expect(() => transformImages([gray], SMALL)).toThrow(/image 0: expected an RGB tensor \[height, width, 3\]/);
    expect(() => transformImages([flags], SMALL)).toThrow(/image 0: expected int32 \(0-255\) or float32 .*got bool/);
    expect(() => postprocessBoxes(new Float32Array(5), [1, 1], [1, 1])).toThrow(/\[K, 4\]/);
    tf.dispose([gray, flags]);
  });

  it('leaves no tensors behind', () => {
    const images = [imageTensor(0), imageTensor(1)];
    const before = tf.memory().numTensors;
    for (let round = 0; round < 2; round += 1) transformImages(images, SMALL).batch.dispose();
    expect(tf.memory().numTensors).toBe(before);
    images.forEach((image) => image.dispose());
  });
});
