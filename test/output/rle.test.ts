import { decodeCounts, decodeMask, encodeCounts, encodeMask, encodeMaskCrop, rleArea, rleCounts } from '../../src/output/rle';
import { seededRandom } from '../support/random';

/**
 * A deliberately literal port of maskApi.c (rleEncode + rleToString) used as an oracle. It shares no code
 * with the module: it walks a transposed copy pixel by pixel and does the signed 5-bit arithmetic with
 * BigInt, whose `&` and `>>` behave like C's on a two's-complement `long`.
 */
function referenceCounts(mask: Uint8Array, height: number, width: number): number[] {
  const counts: number[] = [];
  let previous = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const value = mask[y * width + x] !== 0 ? 1 : 0;
      if (value !== previous) {
        counts.push(run);
        run = 0;
        previous = value;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

function referenceToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = BigInt(counts[i]);
    if (i > 2) x -= BigInt(counts[i - 2]);
    let more = true;
    while (more) {
      let c = Number(x & 0x1fn);
      x >>= 5n;
      more = (c & 0x10) !== 0 ? x !== -1n : x !== 0n;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** Builds a row-major mask from column-major runs (background first), the inverse of the COCO layout. */
function maskFromRuns(runs: readonly number[], height: number, width: number): Uint8Array {
  const mask = new Uint8Array(height * width);
  let position = 0;
  runs.forEach((run, index) => {
    for (let k = 0; k < run; k++, position++) {
      if (index % 2 === 1) {
        const x = Math.floor(position / height);
        const y = position % height;
        mask[y * width + x] = 1;
      }
    }
  });
  if (position !== height * width) throw new Error('test runs do not cover the mask');
  return mask;
}

/** Index of the first differing byte, or -1; jest's deep equality is far too slow on 518400-byte frames. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function fromRows(rows: readonly string[]): Uint8Array {
  return Uint8Array.from(rows.join('').split(''), (ch) => (ch === '#' ? 1 : 0));
}

/**
 * Noise (kind 0) gives a run per pixel or two, which makes the BigInt oracle slow on full frames, so large
 * tests ask for shapes only.
 */
function randomMask(random: () => number, height: number, width: number, shapesOnly = false): Uint8Array {
  const mask = new Uint8Array(height * width);
  const kind = shapesOnly ? 1 + Math.floor(random() * 2) : Math.floor(random() * 3);
  if (kind === 0) {
    // Salt and pepper at a random density: many short runs, including zero-length leading runs.
    const density = random();
    for (let i = 0; i < mask.length; i++) mask[i] = random() < density ? 1 : 0;
  } else {
    // A few filled ellipses and rectangles anywhere, often clipped by the border: the realistic case, and
    // the one that exercises the bounding-box shortcut at every edge.
    const shapes = 1 + Math.floor(random() * 3);
    for (let s = 0; s < shapes; s++) {
      const cx = random() * width;
      const cy = random() * height;
      const rx = 0.5 + random() * width * 0.6;
      const ry = 0.5 + random() * height * 0.6;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const dx = (x - cx) / rx;
          const dy = (y - cy) / ry;
          const inside = kind === 1 ? dx * dx + dy * dy <= 1 : Math.abs(dx) <= 1 && Math.abs(dy) <= 1;
          if (inside) mask[y * width + x] = 1;
        }
      }
    }
  }
  return mask;
}

describe('encodeMask on hand-worked vectors', () => {
  test('3x4 mask: column-major runs, then a negative delta in the fourth value', () => {
    // Row-major 3 rows x 4 columns:       Read down the columns (Fortran order):
    //   . # # .                              col0 = 0 0 1, col1 = 1 1 1, col2 = 1 0 0, col3 = 0 0 1
    //   . # . .                           => 0 0 | 1 1 1 1 1 | 0 0 0 0 | 1
    //   # # . #                           => runs [2, 5, 4, 1] (background first), sum 12
    // String: 2 -> '2' (50), 5 -> '5', 4 -> '4' (the first three are written raw), then the fourth value is
    // delta-coded against runs[1]: 1 - 5 = -4. -4 & 0x1f = 28, -4 >> 5 = -1, and 28 has the sign bit 0x10
    // set with nothing left but sign (-1), so it ends there: 28 + 48 = 76 = 'L'.
    const mask = fromRows(['.##.', '.#..', '##.#']);
    const rle = encodeMask(mask, 3, 4);
    expect(rle).toEqual({ size: [3, 4], counts: '254L' });
    expect(decodeCounts(rle.counts)).toEqual([2, 5, 4, 1]);
    expect(rleArea(rle)).toBe(6);
    expect(Array.from(decodeMask(rle))).toEqual(Array.from(mask));
  });

  test('runs over 31 take two characters, and a positive value with bit 4 set needs a continuation', () => {
    // Runs [40, 50, 35, 75] on a 10x20 mask (sum 200).
    //  40 = 0b1_01000: group 8, rest 1 -> 8|0x20 = 40 -> 'X', then 1 -> '1'           => "X1"
    //  50 = 0b1_10010: group 18, rest 1 -> 18|0x20 = 50 -> 'b', then '1'               => "b1"
    //  35 = 0b1_00011: group 3, rest 1 -> 35 -> 'S', then '1'                           => "S1"
    //  75 is delta-coded: 75 - 50 = 25 = 0b11001 fits 5 bits, but bit 4 would read as a sign, so a zero
    //  group must follow: 25|0x20 = 57 -> 'i', then 0 -> '0'                            => "i0"
    const runs = [40, 50, 35, 75];
    expect(encodeCounts(runs)).toBe('X1b1S1i0');
    expect(encodeMask(maskFromRuns(runs, 10, 20), 10, 20).counts).toBe('X1b1S1i0');
    expect(decodeCounts('X1b1S1i0')).toEqual(runs);
  });

  test('a negative delta that needs two characters', () => {
    // Runs [10, 50, 5, 10, 25] on 10x10: 10 -> ':' (58), 50 -> "b1", 5 -> '5', then
    //  10 - 50 = -40: -40 & 0x1f = 24, -40 >> 5 = -2 (not pure sign yet) -> 24|0x20 = 56 -> 'h';
    //                 -2 & 0x1f = 30, -2 >> 5 = -1 and 30 has the sign bit -> stop: 30 -> 'N'  => "hN"
    //  25 - 5 = 20 = 0b10100, bit 4 set on a positive value -> 20|0x20 = 52 -> 'd', then '0' => "d0"
    const runs = [10, 50, 5, 10, 25];
    expect(encodeCounts(runs)).toBe(':b15hNd0');
    expect(encodeMask(maskFromRuns(runs, 10, 10), 10, 10).counts).toBe(':b15hNd0');
    expect(decodeCounts(':b15hNd0')).toEqual(runs);
  });

  test('empty and full masks', () => {
    // All background is one run of 12 -> 12 + 48 = '<'. All foreground still opens with an empty
    // background run: [0, 12] -> "0<".
    expect(encodeMask(new Uint8Array(12), 3, 4)).toEqual({ size: [3, 4], counts: '<' });
    expect(encodeMask(new Uint8Array(12).fill(1), 3, 4)).toEqual({ size: [3, 4], counts: '0<' });
  });

  test('foreground in the first pixel gives a leading zero-length run; in the last pixel, a final one', () => {
    // [[1,0],[0,0]] in column order is 1 0 0 0 -> [0, 1, 3] -> "013".
    expect(encodeMask(fromRows(['#.', '..']), 2, 2).counts).toBe('013');
    // [[0,0],[0,1]] in column order is 0 0 0 1 -> [3, 1] -> "31": no trailing background run is written.
    expect(encodeMask(fromRows(['..', '.#']), 2, 2).counts).toBe('31');
  });

  test('column order, not row order: a single row and a single column', () => {
    // Row-major [0, 1, 1, 0, 1] as 1x5 is the same sequence in column order: runs [1, 2, 1, 1] -> '1', '2',
    // '1', then 1 - 2 = -1 -> 31 -> 'O'.
    expect(encodeMask(Uint8Array.of(0, 1, 1, 0, 1), 1, 5).counts).toBe('121O');
    expect(encodeMask(Uint8Array.of(0, 1, 1, 0, 1), 5, 1).counts).toBe('121O');
    // A 2x2 with the top row set reads 1 0 | 1 0 down the columns: [0, 1, 1, 1, 1] -> "01100" (the last
    // two values are deltas of zero), whereas row order would have given [0, 2, 2].
    expect(encodeMask(fromRows(['##', '..']), 2, 2).counts).toBe('01100');
  });

  test('a full-resolution 960x540 frame, empty and full', () => {
    // 518400 = 15*32^3 + 26*32^2 + 8*32 + 0: groups low first 0, 8, 26, 15. 26 has bit 4 set but more
    // follows anyway; 15 ends it. Characters: (0|0x20)+48 = 'P', (8|0x20)+48 = 'X', (26|0x20)+48 = 'j',
    // 15+48 = '?'.
    const area = 540 * 960;
    expect(encodeMask(new Uint8Array(area), 540, 960).counts).toBe('PXj?');
    expect(encodeMask(new Uint8Array(area).fill(1), 540, 960).counts).toBe('0PXj?');
  });

  test('any nonzero byte is foreground', () => {
    expect(encodeMask(Uint8Array.of(0, 255, 7, 0), 2, 2).counts).toBe(encodeMask(Uint8Array.of(0, 1, 1, 0), 2, 2).counts);
  });

  test('a zero-sized image encodes as pycocotools does: one empty run', () => {
    const rle = encodeMask(new Uint8Array(0), 0, 5);
    expect(rle).toEqual({ size: [0, 5], counts: '0' });
    expect(decodeMask(rle)).toHaveLength(0);
  });
});

describe('published vectors', () => {
  test('[42, 1] is "Z11" and [1, 2, 2, 1] is "122O"', () => {
    // Both appear as maskApi.c outputs in third-party decoder tests, and agree with the rules above:
    // 42 = 0b1_01010 -> (10|0x20)+48 = 'Z', '1'; then 1 -> '1'. For [1,2,2,1] the fourth is 1-2 = -1 -> 'O'.
    expect(encodeCounts([42, 1])).toBe('Z11');
    expect(encodeCounts([1, 2, 2, 1])).toBe('122O');
    expect(decodeCounts('Z11')).toEqual([42, 1]);
  });

  test('a 50x70 mask written by pycocotools decodes to a full image and re-encodes byte for byte', () => {
    // Published as the output of pycocotools.mask.encode in the README of armengot/COCOtoolsFORK. Only a
    // canonical encoder reproduces it exactly from the pixels.
    const counts =
      '0g05b08J4M2N2NA^O1`0OCO=0E090H080IO68DH;>@C>a0_O_O`0j0OWOF<:CM72I24NL43JM92FN;1ENKO72L0LO91J0MO92INO0NO122OO' +
      '0M031O000NO31OO11MO40N011MO41MO21L06OL021L06OL021L06OL021L060J040L060J040L060J040L060J040L060J040L060J040L060' +
      'KO31L060KO31L06OL021L06OL021L06OL021MO41MO21MO40N100NO310O00M0310O00NO1220NO92IONO91KOMO72M0<1EO:2GN63KM34OLM' +
      '73JF<;=1G_O_Ob0=AC`07EH=1IO71H090F0:1DO>1_O1b0>2N2N3L6H]O';
    const rle = { size: [50, 70] as [number, number], counts };
    const runs = rleCounts(rle);
    expect(runs.slice(0, 4)).toEqual([0, 23, 5, 41]);
    expect(runs.reduce((a, b) => a + b, 0)).toBe(3500);
    const mask = decodeMask(rle);
    expect(encodeMask(mask, 50, 70).counts).toBe(counts);
    expect(referenceToString(referenceCounts(mask, 50, 70))).toBe(counts);
    expect(rleArea(rle)).toBe(mask.reduce((a, b) => a + b, 0));
  });
});

describe('agreement with the literal maskApi.c port', () => {
  test('every 3x3, 2x4, 4x2, 1x8 and 8x1 mask', () => {
    for (const [height, width] of [
      [3, 3],
      [2, 4],
      [4, 2],
      [1, 8],
      [8, 1],
    ]) {
      const area = height * width;
      for (let bits = 0; bits < 1 << area; bits++) {
        const mask = new Uint8Array(area);
        for (let i = 0; i < area; i++) mask[i] = (bits >> i) & 1;
        const expected = referenceToString(referenceCounts(mask, height, width));
        const rle = encodeMask(mask, height, width);
        if (rle.counts !== expected) {
          throw new Error(`${height}x${width} mask ${bits.toString(2)}: got ${rle.counts}, expected ${expected}`);
        }
        expect(firstDifference(decodeMask(rle), mask)).toBe(-1);
      }
    }
  });

  test('random masks of random sizes round-trip and match the oracle', () => {
    const random = seededRandom(20240607);
    for (let trial = 0; trial < 300; trial++) {
      const height = 1 + Math.floor(random() * 40);
      const width = 1 + Math.floor(random() * 40);
      const mask = randomMask(random, height, width);
      const rle = encodeMask(mask, height, width);
      const expectedRuns = referenceCounts(mask, height, width);
      expect(decodeCounts(rle.counts)).toEqual(expectedRuns);
      expect(rle.counts).toBe(referenceToString(expectedRuns));
      expect(firstDifference(decodeMask(rle), mask)).toBe(-1);
      expect(rleArea(rle)).toBe(mask.reduce((a, b) => a + b, 0));
    }
  });

  test('random full-frame instance masks', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 4; trial++) {
      const mask = randomMask(random, 540, 960, true);
      const rle = encodeMask(mask, 540, 960);
      expect(rle.counts).toBe(referenceToString(referenceCounts(mask, 540, 960)));
      expect(firstDifference(decodeMask(rle), mask)).toBe(-1);
    }
  });

  test('masks that are views at any byte offset give the same result', () => {
    // The bounding-box prepass reads 32-bit words where the view is aligned; misaligned heads and tails must
    // fall back to bytes without skipping or double-reading anything.
    const random = seededRandom(99);
    for (let trial = 0; trial < 40; trial++) {
      const height = 1 + Math.floor(random() * 13);
      const width = 1 + Math.floor(random() * 13);
      const mask = randomMask(random, height, width);
      const expected = encodeMask(mask, height, width).counts;
      for (let offset = 1; offset < 4; offset++) {
        // Nonzero padding around the view would leak into the result if the view's bounds were ignored.
        const backing = new Uint8Array(mask.length + 8).fill(1);
        backing.set(mask, offset);
        const view = backing.subarray(offset, offset + mask.length);
        expect(encodeMask(view, height, width).counts).toBe(expected);
      }
    }
  });
});

describe('worst case', () => {
  test('a 960x540 checkerboard: one run per pixel except where columns meet', () => {
    const height = 540;
    const width = 960;
    const mask = new Uint8Array(height * width);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = (x + y) & 1;
    const rle = encodeMask(mask, height, width);
    const runs = decodeCounts(rle.counts);
    // Within a column the value flips at every pixel (539 flips per column). With an even height the last
    // pixel of column x, (x + 539) & 1, equals the first of column x + 1, (x + 1) & 1, so the 959 column
    // boundaries each merge into a run of 2: 960 * 539 + 1 runs, of which 959 are 2 and the rest 1.
    expect(runs).toHaveLength(960 * 539 + 1);
    expect(runs.filter((r) => r === 2)).toHaveLength(959);
    expect(runs.every((r) => r === 1 || r === 2)).toBe(true);
    expect(rle.counts).toBe(referenceToString(referenceCounts(mask, height, width)));
    expect(firstDifference(decodeMask(rle), mask)).toBe(-1);
    // The reused buffers grew for this mask; a small encode afterwards must not see leftovers.
    expect(encodeMask(fromRows(['.##.', '.#..', '##.#']), 3, 4).counts).toBe('254L');
  });
});

describe('counts string codec', () => {
  test('random run lists, including zeros and the largest uint runs, round-trip and match the oracle', () => {
    const random = seededRandom(12345);
    for (let trial = 0; trial < 200; trial++) {
      const length = Math.floor(random() * 30);
      const runs = Array.from({ length }, () => {
        const pick = random();
        if (pick < 0.1) return 0;
        if (pick < 0.2) return 0xffffffff - Math.floor(random() * 3);
        return Math.floor(random() ** 4 * 2 ** (1 + Math.floor(random() * 32)));
      });
      const s = encodeCounts(runs);
      expect(s).toBe(referenceToString(runs));
      expect(s).toMatch(/^[0-o]*$/);
      expect(decodeCounts(s)).toEqual(runs);
    }
  });

  test('accepts typed arrays', () => {
    expect(encodeCounts(Uint32Array.of(2, 5, 4, 1))).toBe('254L');
  });

  test('an empty string is no runs', () => {
    expect(decodeCounts('')).toEqual([]);
    expect(encodeCounts([])).toBe('');
  });

  test('rejects characters outside the alphabet', () => {
    expect(() => decodeCounts('25 4')).toThrow(/character " " at offset 2 is outside '0'..'o'/);
    expect(() => decodeCounts('25p')).toThrow(/character "p" at offset 2/);
    expect(() => decodeCounts('2/')).toThrow(/offset 1/);
  });

  test('rejects a value whose continuation bit is set on the last character', () => {
    // 'X' is (8 | 0x20) + 48: "more follows", but nothing does.
    expect(() => decodeCounts('25X')).toThrow(/value at offset 2 is cut off/);
  });

  test('rejects runs that decode negative', () => {
    // 'O' is -1 written raw as the first run.
    expect(() => decodeCounts('O')).toThrow(/run 0 .* decodes to -1/);
    // 'M' is 29 -> sign bit -> -3, applied to runs[1] = 2: 2 - 3 = -1.
    expect(() => decodeCounts('123M')).toThrow(/run 3 .* decodes to -1/);
  });

  test('rejects absurdly long values', () => {
    expect(() => decodeCounts('PPPPPPPPPPP0')).toThrow(/longer than 10 characters/);
  });

  test('rejects runs that pycocotools could not store', () => {
    expect(() => encodeCounts([1, -1])).toThrow(/run 1 must be an integer in 0..4294967295, got -1/);
    expect(() => encodeCounts([1.5])).toThrow(/run 0 must be an integer/);
    expect(() => encodeCounts([2 ** 32])).toThrow(/run 0/);
    expect(() => encodeCounts([Number.NaN])).toThrow(/got NaN/);
  });
});

describe('input validation', () => {
  test('mask length must equal height x width', () => {
    expect(() => encodeMask(new Uint8Array(11), 3, 4)).toThrow(/mask has 11 elements but height x width is 3 x 4 = 12/);
  });

  test('dimensions must be non-negative integers', () => {
    expect(() => encodeMask(new Uint8Array(12), 3.5, 4)).toThrow(/height must be a non-negative integer, got 3.5/);
    expect(() => encodeMask(new Uint8Array(12), 3, -4)).toThrow(/width must be a non-negative integer, got -4/);
    expect(() => encodeMask(new Uint8Array(0), Number.NaN, 4)).toThrow(/height .* got NaN/);
  });

  test('masks must be bytes', () => {
    const floats = new Float32Array(4) as unknown as Uint8Array;
    expect(() => encodeMask(floats, 2, 2)).toThrow(/must be a Uint8Array/);
  });

  test('decoding checks the runs against the size', () => {
    // "254K": 'K' is 27 -> -5, so the fourth run is 5 - 5 = 0 and the runs sum to 11, not 12.
    expect(() => decodeMask({ size: [3, 4], counts: '254K' })).toThrow(/runs sum to 11 pixels but size 3 x 4 has 12/);
    expect(() => rleArea({ size: [3, 5], counts: '254L' })).toThrow(/runs sum to 12 pixels but size 3 x 5 has 15/);
    expect(() => decodeMask({ size: [3] as unknown as [number, number], counts: '<' })).toThrow(/size must be \[height, width\]/);
    expect(() => decodeMask({ size: [3, 4], counts: 12 as unknown as string })).toThrow(/counts must be a string/);
  });
});

describe('encodeMaskCrop', () => {
  test('gives exactly what encodeMask gives for the same mask pasted into the image', () => {
    const random = seededRandom(41);
    const cases: [number, number][] = [[1, 1], [7, 5], [30, 40], [54, 96]];
    for (const [height, width] of cases) {
      for (let trial = 0; trial < 60; trial++) {
        const w = Math.floor(random() * (width + 1));
        const h = Math.floor(random() * (height + 1));
        const x = Math.floor(random() * (width - w + 1));
        const y = Math.floor(random() * (height - h + 1));
        const density = random();
        const data = Uint8Array.from({ length: w * h }, () => (random() < density ? 1 : 0));
        // Crops touching every border, and full columns, exercise the contiguous-column case.
        const full = new Uint8Array(height * width);
        for (let r = 0; r < h; r++) full.set(data.subarray(r * w, r * w + w), (y + r) * width + x);
        expect(encodeMaskCrop({ x, y, width: w, height: h, data }, height, width)).toEqual(encodeMask(full, height, width));
      }
    }
  });

  test('refuses crops that do not fit their data or the image', () => {
    expect(() => encodeMaskCrop({ x: 0, y: 0, width: 2, height: 2, data: new Uint8Array(3) }, 4, 4)).toThrow(RangeError);
    expect(() => encodeMaskCrop({ x: 3, y: 0, width: 2, height: 2, data: new Uint8Array(4) }, 4, 4)).toThrow(/outside/);
    expect(encodeMaskCrop({ x: 4, y: 4, width: 0, height: 0, data: new Uint8Array(0) }, 4, 4)).toEqual(encodeMask(new Uint8Array(16), 4, 4));
  });
});
