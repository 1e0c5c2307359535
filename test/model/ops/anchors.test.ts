import { join } from 'node:path';
import {
  ANCHOR_DEFAULTS,
  anchorStrides,
  anchorsPerLocation,
  cellAnchors,
  generateAnchors,
  gridAnchors,
  roundHalfToEven,
  type Size2D,
} from '../../../src/model/ops/anchors';
import { type NpyArray, readNpy } from '../../../src/model/weights/npy';

// Reference values: torchvision's AnchorGenerator, written by tools/fixtures/make_ops_fixtures.py.
function fixture(name: string): NpyArray {
  return readNpy(join(__dirname, '..', '..', 'fixtures', 'ops', 'anchors', `${name}.npy`));
}

function floats(name: string): number[] {
  const array = fixture(name);
  if (array.dtype !== 'float32' && array.dtype !== 'float64') throw new Error(`${name}: ${array.dtype}`);
  return Array.from(array.data as Float32Array | Float64Array);
}

function ints(name: string): number[] {
  const array = fixture(name);
  if (array.dtype !== 'int64') throw new Error(`${name}: int64 expected, got ${array.dtype}`);
  return Array.from(array.data as BigInt64Array, Number);
}

const PADDED_SIZES: Size2D[] = [
  [800, 1088],
  [800, 1216],
  [1216, 800],
  [32, 1344],
  [800, 800],
  [64, 96],
];

describe('cellAnchors (AnchorGenerator.generate_anchors)', () => {
  it("matches torchvision's Mask R-CNN cell anchors", () => {
    const cells = ANCHOR_DEFAULTS.sizes.map((sizes, level) =>
      Array.from(cellAnchors(sizes, ANCHOR_DEFAULTS.aspectRatios[level])),
    );
    expect(cells.flat()).toEqual(floats('cell_default'));
    // The spec's table, level '0': ratio 0.5 is wide (height / width).
    expect(cells[0]).toEqual([-23, -11, 23, 11, -16, -16, 16, 16, -11, -23, 11, 23]);
  });

  it('rounds exact halves to even, ratio-major then size-minor', () => {
    // Sizes (5, 7) with ratios (0.25, 1, 4) make halves like 2.5, 3.5 and 1.75 (see the fixture generator).
    expect(Array.from(cellAnchors([5, 7], [0.25, 1, 4]))).toEqual(floats('cell_custom'));
    expect([2.5, 3.5, -2.5, -3.5, 1.25, -1.75, 6].map(roundHalfToEven)).toEqual([2, 4, -2, -4, 1, -2, 6]);
  });

  it('has A = 3 anchors per location on every level', () => {
    expect(anchorsPerLocation()).toEqual([3, 3, 3, 3, 3]);
  });
});

describe('gridAnchors / generateAnchors (AnchorGenerator.forward)', () => {
  it("uses floor(padded / feature) strides: 61 for 800x1088's 'pool' level", () => {
    const grid = ints('800x1088_grid');
    const sizes = Array.from({ length: 5 }, (_, i): Size2D => [grid[i * 2], grid[i * 2 + 1]]);
    expect(sizes[4]).toEqual([13, 17]);
    expect(anchorStrides(sizes, [800, 1088])).toEqual([
      [4, 4],
      [8, 8],
      [16, 16],
      [32, 32],
      [61, 64],
    ]);
  });

  it.each(PADDED_SIZES)('matches torchvision for a %ix%i padded batch', (hp, wp) => {
    const tag = `${hp}x${wp}`;
    const grid = ints(`${tag}_grid`);
    const sizes = Array.from({ length: 5 }, (_, i): Size2D => [grid[i * 2], grid[i * 2 + 1]]);
    const levels = gridAnchors(sizes, [hp, wp]);
    expect(levels.map((level) => level.length / 4)).toEqual(ints(`${tag}_counts`));

    // Per-level column sums in double: the anchors are integers, so these are exact.
    const sums = levels.flatMap((level) => {
      const s = [0, 0, 0, 0];
      for (let i = 0; i < level.length; i++) s[i % 4] += level[i];
      return s;
    });
    expect(sums).toEqual(floats(`${tag}_sums`));

    const all = generateAnchors(sizes, [hp, wp]);
    const rows = ints(`${tag}_index`).flatMap((row) => Array.from(all.subarray(row * 4, row * 4 + 4)));
    expect(rows).toEqual(floats(`${tag}_rows`));
    if (hp * wp <= 64 * 96) expect(Array.from(all)).toEqual(floats(`${tag}_all`));
  });

  it('orders anchors row, column, anchor within a level', () => {
    const [level] = gridAnchors([[2, 3]], [8, 12], { sizes: [[4]], aspectRatios: [[1, 2]] });
    // Index (y·fw + x)·A + a; stride 4 both ways; ratio 1 is [-2, -2, 2, 2], ratio 2 rounds to [-1, -3, 1, 3].
    const row = (y: number, x: number, a: number): number[] =>
      Array.from(level.subarray(((y * 3 + x) * 2 + a) * 4, ((y * 3 + x) * 2 + a) * 4 + 4));
    expect(row(0, 0, 0)).toEqual([-2, -2, 2, 2]);
    expect(row(0, 0, 1)).toEqual([-1, -3, 1, 3]);
    expect(row(0, 2, 0)).toEqual([6, -2, 10, 2]);
    expect(row(1, 1, 1)).toEqual([3, 1, 5, 7]);
  });

  it('refuses a level count that does not match the configuration', () => {
    expect(() => gridAnchors([[10, 10]], [40, 40])).toThrow(/one of each per level/);
  });
});
