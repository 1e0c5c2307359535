import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../src/model/weights/npy';
import { toFloat32, type RawTensor } from '../../src/model/weights/tensor';

/** Checkpoints and their references, written by tools/fixtures/make_checkpoints.py. */
export const CHECKPOINT_FIXTURES = join(__dirname, '..', 'fixtures', 'checkpoints');

interface ManifestEntry {
  dtype: string;
  shape: number[];
  file: string;
}

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

/** Compare every tensor with its references: the exact bytes, and torch's own float32 conversion bit for bit. */
export function expectMatchesReference(tensors: Map<string, RawTensor>, set: string): void {
  const folder = join(CHECKPOINT_FIXTURES, 'expected', set);
  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Record<string, ManifestEntry>;
  expect([...tensors.keys()].sort()).toEqual(Object.keys(manifest).sort());
  for (const [key, expected] of Object.entries(manifest)) {
    const tensor = tensors.get(key) as RawTensor;
    expect({ key, dtype: tensor.dtype, shape: tensor.shape }).toEqual({ key, dtype: expected.dtype, shape: expected.shape });
    const raw = readNpy(join(folder, `${expected.file}.raw.npy`)).data as Uint8Array;
    expect({ key, bytes: Buffer.from(tensor.data).toString('hex') }).toEqual({ key, bytes: Buffer.from(raw).toString('hex') });
    const floats = readNpy(join(folder, `${expected.file}.f32.npy`)).data as Float32Array;
    expect({ key, bits: bitsOf(toFloat32(tensor)) }).toEqual({ key, bits: bitsOf(floats) });
  }
}
