import { join } from 'node:path';
import { parseNpy, readNpy } from '../../../src/model/weights/npy';

const fixture = (name: string): string => join(__dirname, '..', '..', 'fixtures', 'npy', name);

describe('readNpy (files written by numpy.save, tools/fixtures/make_npy_fixtures.py)', () => {
  it('float32 with shape', () => {
    const array = readNpy(fixture('float32_2x3.npy'));
    expect(array.dtype).toBe('float32');
    expect(array.shape).toEqual([2, 3]);
    expect(Array.from(array.data as Float32Array)).toEqual([-0.5, -0.25, 0, 0.25, 0.5, 0.75]);
  });

  it('float16 keeps its raw bits', () => {
    const array = readNpy(fixture('float16_4.npy'));
    // IEEE half: 0.5 = 0x3800, -2 = 0xc000, 65504 = 0x7bff, 1e-4 rounds to 0x068e.
    expect(Array.from(array.data as Uint16Array)).toEqual([0x3800, 0xc000, 0x7bff, 0x068e]);
  });

  it('int64, a 0-d scalar and bool', () => {
    expect(Array.from(readNpy(fixture('int64_3.npy')).data as BigInt64Array)).toEqual([-1n, 2n ** 40n, 7n]);
    const scalar = readNpy(fixture('uint8_scalar.npy'));
    expect([scalar.shape, Array.from(scalar.data as Uint8Array)]).toEqual([[], [200]]);
    expect(Array.from(readNpy(fixture('bool_2x2.npy')).data as Uint8Array)).toEqual([1, 0, 0, 1]);
  });

  it('refuses what it cannot read correctly', () => {
    expect(() => readNpy(fixture('fortran.npy'))).toThrow(/Fortran/);
    expect(() => parseNpy(new TextEncoder().encode('not numpy at all'))).toThrow(/not a .npy file/);
  });
});
