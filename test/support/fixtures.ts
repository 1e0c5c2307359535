import { join } from 'node:path';
import { type NpyArray, readNpy } from '../../src/model/weights/npy';

/** Readers for one folder of .npy reference fixtures under test/fixtures (written by tools/ scripts). */
export function fixtureFolder(...folder: string[]): {
  fixture: (name: string) => NpyArray;
  f32: (name: string) => Float32Array;
  ints: (name: string) => number[];
} {
  const fixture = (name: string): NpyArray => readNpy(join(__dirname, '..', 'fixtures', ...folder, `${name}.npy`));
  return {
    fixture,
    f32: (name) => {
      const array = fixture(name);
      if (array.dtype !== 'float32') throw new Error(`${name}: float32 expected, got ${array.dtype}`);
      return array.data as Float32Array;
    },
    ints: (name) => {
      const array = fixture(name);
      if (array.dtype !== 'int64') throw new Error(`${name}: int64 expected, got ${array.dtype}`);
      return Array.from(array.data as BigInt64Array, Number);
    },
  };
}

/** Largest absolute difference; NaN anywhere is a failure (Infinity), not a zero difference. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let max = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs((actual[i] as number) - (expected[i] as number));
    max = Number.isNaN(d) ? Infinity : Math.max(max, d);
  }
  return max;
}
