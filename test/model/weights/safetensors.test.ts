import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../../src/model/weights/npy';
import { readSafetensors, writeSafetensors } from '../../../src/model/weights/safetensors';
import {
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  fromFloat32,
  RawTensor,
  toFloat32,
  WeightsFormatError,
} from '../../../src/model/weights/tensor';
import { CHECKPOINT_FIXTURES, expectMatchesReference } from '../../support/checkpoint-reference';

// tensors.safetensors and the references come from tools/fixtures/make_checkpoints.py, whose safetensors writer is a
// few lines of plain Python following the format (the safetensors package is not needed).
const dir = CHECKPOINT_FIXTURES;
const fixture = (name: string): Buffer => readFileSync(join(dir, name));

/** A safetensors file from a header object and a data section, for the error cases. */
function build(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('readSafetensors', () => {
  it('reads every dtype exactly, with metadata', () => {
    const { tensors, metadata } = readSafetensors(fixture('tensors.safetensors'));
    expect(metadata).toEqual({ format: 'pt', source: 'make_checkpoints.py' });
    expectMatchesReference(tensors, 'safetensors');
    expect(tensors.get('gewicht_ü')?.dtype).toBe('int16');
  });

  it('writes back the same bytes the Python writer produced', () => {
    const original = fixture('tensors.safetensors');
    const { tensors, metadata } = readSafetensors(original);
    expect(Buffer.from(writeSafetensors(tensors, metadata)).equals(original)).toBe(true);
  });

  it('refuses broken files with a reason', () => {
    const fails = (bytes: Uint8Array, pattern: RegExp) => {
      expect(() => readSafetensors(bytes, 'w.safetensors')).toThrow(WeightsFormatError);
      expect(() => readSafetensors(bytes, 'w.safetensors')).toThrow(pattern);
    };
    const good = fixture('tensors.safetensors');
    fails(good.subarray(0, good.length - 1), /^w\.safetensors: truncated safetensors file: tensor "[^"]+" ends at data byte \d+/);
    fails(good.subarray(0, 100), /truncated safetensors file: the \d+-byte header runs past the end/);
    fails(good.subarray(0, 4), /truncated safetensors file: 4 bytes/);
    fails(new TextEncoder().encode('PK\x03\x04 not a safetensors file at all'), /not a safetensors file \(header length \d+ is implausible\)/);
    fails(build({}, new Uint8Array(0)).fill(0x41, 8), /header is not JSON/);
    const two = (a: [number, number], b: [number, number], length: number) =>
      build(
        { a: { dtype: 'F32', shape: [1], data_offsets: a }, b: { dtype: 'F32', shape: [1], data_offsets: b } },
        new Uint8Array(length),
      );
    fails(two([0, 4], [2, 6], 8), /tensors "a" and "b" overlap \(byte 2 of the data\)/);
    fails(two([0, 4], [8, 12], 12), /4 unused bytes before tensor "b"/);
    fails(two([0, 4], [4, 8], 12), /4 bytes after the last tensor that the header does not describe/);
    const one = (dtype: string, shape: number[], length: number) =>
      build({ a: { dtype, shape, data_offsets: [0, length] } }, new Uint8Array(length));
    fails(one('F32', [2], 4), /tensor "a": data_offsets \[0, 4\] hold 4 bytes, float32 \[2\] needs 8/);
    fails(one('F8_E4M3', [1], 1), /tensor "a": unsupported dtype "F8_E4M3"/);
    fails(build({ __metadata__: { epoch: 3 } }, new Uint8Array(0)), /__metadata__\.epoch is not a string/);
  });
});

function torchBfloat16(): Uint16Array {
  const raw = readNpy(join(dir, 'encode_bf16.raw.npy')).data as Uint8Array;
  return new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
}

/** Bits, except that any NaN reads 'NaN': torch's vectorized conversion writes 0xffff for NaN, its scalar one 0x7fc0;
 * both are NaN and nothing depends on which. */
function comparableBfloat16(bits: Uint16Array): (number | string)[] {
  return Array.from(bits, (b) => ((b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0 ? 'NaN' : b));
}

describe('writeSafetensors', () => {
  it('pads the header with spaces to 8 bytes and aligns every tensor', () => {
    const tensors = new Map<string, RawTensor>([
      ['b', { dtype: 'uint8', shape: [3], data: Uint8Array.from([1, 2, 3]) }],
      ['a', fromFloat32(Float32Array.from([1.5, -2]), [2])],
      ['c', { dtype: 'int64', shape: [], data: new Uint8Array(8).fill(0xff) }],
    ]);
    const bytes = writeSafetensors(tensors, { note: 'x' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(header).toMatch(/^\{"__metadata__":\{"note":"x"\},"c":\{"dtype":"I64","shape":\[\],"data_offsets":\[0,8\]\},"a":.*\} *$/);
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'x' });
    expect(back.tensors).toEqual(tensors);
  });

  it('refuses a tensor whose bytes do not match its shape', () => {
    const bad = new Map<string, RawTensor>([['w', { dtype: 'float32', shape: [2], data: new Uint8Array(4) }]]);
    expect(() => writeSafetensors(bad)).toThrow(/w: float32 \[2\] needs 8 bytes, has 4/);
  });

  it('round-trips float16 and bfloat16 exports', () => {
    const values = readNpy(join(dir, 'encode_f32.npy')).data as Float32Array;
    const tensors = new Map<string, RawTensor>([
      ['half', fromFloat32(values, [values.length], 'float16')],
      ['brain', fromFloat32(values, [values.length], 'bfloat16')],
    ]);
    const back = readSafetensors(writeSafetensors(tensors)).tensors;
    const half = back.get('half') as RawTensor;
    expect(Buffer.from(half.data).equals(Buffer.from((readNpy(join(dir, 'encode_f16.npy')).data as Uint16Array).buffer))).toBe(true);
    const brain = (back.get('brain') as RawTensor).data;
    expect(comparableBfloat16(new Uint16Array(brain.buffer, brain.byteOffset, brain.length / 2))).toEqual(comparableBfloat16(torchBfloat16()));
  });
});

describe('float16 and bfloat16 encoding', () => {
  const values = readNpy(join(dir, 'encode_f32.npy')).data as Float32Array;

  it('rounds to nearest even exactly as numpy does (ties, subnormals, overflow, NaN)', () => {
    const expected = readNpy(join(dir, 'encode_f16.npy')).data as Uint16Array;
    expect(Array.from(float32ToFloat16Bits(values))).toEqual(Array.from(expected));
  });

  it('rounds to bfloat16 exactly as torch does', () => {
    expect(comparableBfloat16(float32ToBfloat16Bits(values))).toEqual(comparableBfloat16(torchBfloat16()));
  });

  it('decodes every half and encodes it back to the same bits', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = toFloat32({ dtype: 'float16', shape: [65536], data: new Uint8Array(all.buffer) });
    const encoded = float32ToFloat16Bits(decoded);
    const mismatches: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const nan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      // A NaN comes back quiet (its top mantissa bit set), with its sign and payload.
      const expected = nan ? h | 0x200 : h;
      if (encoded[h] !== expected) mismatches.push(h);
    }
    expect(mismatches).toEqual([]);
    expect([decoded[0x0001], decoded[0x03ff], decoded[0x0400], decoded[0x7bff], decoded[0x7c00], decoded[0x8000]]).toEqual([
      2 ** -24,
      2 ** -14 - 2 ** -24,
      2 ** -14,
      65504,
      Infinity,
      -0,
    ]);
  });
});
