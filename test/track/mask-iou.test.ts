import {
  type BinaryMask,
  boxIoU,
  checkMask,
  maskArea,
  maskIntersection,
  maskIoU,
  shiftBox,
  shiftMask,
} from '../../src/track/mask-iou';
import { seededRandom } from '../support/random';

const W = 40;
const H = 30;

/** A random crop inside a W×H image, about half its pixels set. */
function randomMask(rand: () => number): BinaryMask {
  const x = Math.floor(rand() * W);
  const y = Math.floor(rand() * H);
  const width = Math.floor(rand() * (W - x + 1));
  const height = Math.floor(rand() * (H - y + 1));
  return { x, y, width, height, data: Uint8Array.from({ length: width * height }, () => (rand() < 0.5 ? 1 : 0)) };
}

/** The oracle: the crop drawn on a full frame (what the module promises never to allocate). */
function fullFrame(mask: BinaryMask, width = W, height = H): Uint8Array {
  const image = new Uint8Array(width * height);
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      const ix = mask.x + x;
      const iy = mask.y + y;
      if (ix >= 0 && iy >= 0 && ix < width && iy < height) image[iy * width + ix] = mask.data[y * mask.width + x];
    }
  }
  return image;
}

describe('mask IoU', () => {
  it('agrees with a full-frame computation on random crops', () => {
    const rand = seededRandom(1);
    for (let trial = 0; trial < 500; trial++) {
      const a = randomMask(rand);
      const b = randomMask(rand);
      const fa = fullFrame(a);
      const fb = fullFrame(b);
      let inter = 0;
      let union = 0;
      for (let i = 0; i < fa.length; i++) {
        inter += fa[i] & fb[i];
        union += fa[i] | fb[i];
      }
      expect(maskIntersection(a, b)).toBe(inter);
      expect(maskIntersection(b, a)).toBe(inter);
      expect(maskIoU(a, b)).toBeCloseTo(union === 0 ? 0 : inter / union, 12);
    }
  });

  it('gives hand-computed values', () => {
    const square = (x: number, y: number, size: number): BinaryMask => ({
      x,
      y,
      width: size,
      height: size,
      data: new Uint8Array(size * size).fill(1),
    });
    // 10×10 squares overlapping in a 5×10 strip: 50 / 150.
    expect(maskIoU(square(0, 0, 10), square(5, 0, 10))).toBeCloseTo(1 / 3, 12);
    expect(maskIoU(square(0, 0, 10), square(10, 0, 10))).toBe(0);
    expect(maskIoU(square(3, 4, 7), square(3, 4, 7))).toBe(1);
    // Zeros inside a crop are not the object: a crop whose only set pixels miss the other mask has IoU 0.
    const ring: BinaryMask = { x: 0, y: 0, width: 3, height: 3, data: Uint8Array.from([1, 1, 1, 1, 0, 1, 1, 1, 1]) };
    expect(maskIoU(ring, square(1, 1, 1))).toBe(0);
    expect(maskArea(ring)).toBe(8);
    const empty: BinaryMask = { x: 0, y: 0, width: 0, height: 0, data: new Uint8Array(0) };
    expect(maskIoU(empty, empty)).toBe(0);
  });

  it('rejects a crop whose data does not fit its rectangle', () => {
    expect(() => checkMask({ x: 0, y: 0, width: 3, height: 2, data: new Uint8Array(5) }, 'm')).toThrow(/3×2 holds 5/);
    expect(() => checkMask({ x: 0.5, y: 0, width: 1, height: 1, data: new Uint8Array(1) }, 'm')).toThrow(/integers/);
  });
});

describe('box IoU', () => {
  it('gives hand-computed values', () => {
    expect(boxIoU([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3, 12);
    expect(boxIoU([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
    expect(boxIoU([0, 0, 2, 2], [1, 1, 3, 3])).toBeCloseTo(1 / 7, 12);
    expect(boxIoU([0, 0, 0, 5], [0, 0, 0, 5])).toBe(0);
  });
});

describe('shifting', () => {
  it('moves a mask by the rounded motion and clips it to the image, like shifting the full frame', () => {
    const rand = seededRandom(2);
    for (let trial = 0; trial < 300; trial++) {
      const mask = randomMask(rand);
      const dx = (rand() - 0.5) * 2 * W;
      const dy = (rand() - 0.5) * 2 * H;
      const moved = shiftMask(mask, dx, dy, W, H);
      checkMask(moved, 'moved');
      expect(moved.x).toBeGreaterThanOrEqual(0);
      expect(moved.y).toBeGreaterThanOrEqual(0);
      expect(moved.x + moved.width).toBeLessThanOrEqual(W);
      expect(moved.y + moved.height).toBeLessThanOrEqual(H);
      const expected = fullFrame({ ...mask, x: mask.x + Math.round(dx), y: mask.y + Math.round(dy) });
      expect(fullFrame(moved)).toEqual(expected);
    }
  });

  it('returns the same mask when nothing moves, and an empty one when it leaves the image', () => {
    const mask: BinaryMask = { x: 2, y: 3, width: 2, height: 1, data: Uint8Array.from([1, 0]) };
    expect(shiftMask(mask, 0.4, -0.4, W, H)).toBe(mask);
    const gone = shiftMask(mask, W, 0, W, H);
    expect(gone.width * gone.height).toBe(0);
    expect(maskArea(gone)).toBe(0);
  });

  it('moves a box by the exact motion and clips it', () => {
    expect(shiftBox([1.5, 2, 11.5, 12], 0.25, -3, W, H)).toEqual([1.75, 0, 11.75, 9]);
    expect(shiftBox([30, 20, 39, 29], 5, 5, W, H)).toEqual([35, 25, W, H]);
  });
});
