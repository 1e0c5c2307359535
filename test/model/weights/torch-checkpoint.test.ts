import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RawTensor, toFloat32, WeightsFormatError } from '../../../src/model/weights/tensor';
import { readTorchCheckpoint } from '../../../src/model/weights/torch-checkpoint';
import { CHECKPOINT_FIXTURES, expectMatchesReference } from '../../support/checkpoint-reference';

// Fixtures and references come from tools/fixtures/make_checkpoints.py (torch 1.13).
const dir = CHECKPOINT_FIXTURES;
const file = (name: string): Buffer => readFileSync(join(dir, name));
const load = (name: string) => readTorchCheckpoint(file(name), name);

function int64s(tensor: RawTensor | undefined): bigint[] {
  const data = (tensor as RawTensor).data;
  return Array.from(new BigInt64Array(data.buffer, data.byteOffset, data.byteLength / 8));
}

function float32s(tensor: RawTensor | undefined): number[] {
  return Array.from(toFloat32(tensor as RawTensor));
}

describe('readTorchCheckpoint: every dtype, views and shared storages', () => {
  it.each([
    ['dtypes.pt', 'zip'],
    ['dtypes_legacy.pt', 'legacy'],
    ['dtypes_proto4.pt', 'zip'],
    ['dtypes_big_endian.pt', 'zip'],
  ])('%s (%s) matches torch bit for bit', (name, format) => {
    const checkpoint = load(name);
    expect(checkpoint.format).toBe(format);
    expect(checkpoint.nestedUnder).toBeUndefined();
    expectMatchesReference(checkpoint.tensors, 'dtypes');
  });

  it('keeps the state dict order and materializes views, strides and shared storages', () => {
    const { tensors } = load('dtypes.pt');
    expect([...tensors.keys()].slice(0, 4)).toEqual(['f32', 'f16', 'bf16', 'f64']);
    // arange(10)[2:8].view(2, 3): storage of 10, offset 2.
    expect(tensors.get('view')?.shape).toEqual([2, 3]);
    expect(int64s(tensors.get('view'))).toEqual([2n, 3n, 4n, 5n, 6n, 7n]);
    expect(float32s(tensors.get('expanded'))).toEqual([1, 2, 3, 1, 2, 3]);
    expect(tensors.get('scalar')?.shape).toEqual([]);
    expect(float32s(tensors.get('scalar'))).toEqual([3.25]);
    expect(tensors.get('empty')).toEqual({ dtype: 'float32', shape: [0, 3], data: new Uint8Array(0) });
    // shared_b = shared_a[2:], one storage: the last two rows.
    expect(float32s(tensors.get('shared_b'))).toEqual(float32s(tensors.get('shared_a')).slice(8));
    // Each tensor owns its bytes, so changing one leaves the other sharing the storage intact.
    const a = tensors.get('shared_a') as RawTensor;
    const before = float32s(tensors.get('shared_b'));
    a.data.fill(0);
    expect(float32s(tensors.get('shared_b'))).toEqual(before);
  });

  it('reads the view metadata of pre-1.0 legacy files', () => {
    const checkpoint = load('legacy_view_metadata.pt');
    expect(checkpoint.format).toBe('legacy');
    expectMatchesReference(checkpoint.tensors, 'legacy_view_metadata');
    // Elements 4..7 of arange(12) * 0.5, through a view storage starting at element 3 and a tensor offset of 1.
    expect(float32s(checkpoint.tensors.get('part'))).toEqual([2, 2.5, 3, 3.5]);
  });
});

describe('readTorchCheckpoint: module state dicts', () => {
  it.each(['module.pt', 'module_legacy.pt', 'module_parameters.pt'])('%s', (name) => {
    const checkpoint = load(name);
    expectMatchesReference(checkpoint.tensors, 'module');
    const counter = checkpoint.tensors.get('1.num_batches_tracked') as RawTensor;
    expect([counter.dtype, counter.shape, int64s(counter)]).toEqual(['int64', [], [1n]]);
  });

  it('keeps _metadata, whose versions tell the key-naming era', () => {
    const { metadata } = load('module.pt');
    expect(metadata && Object.fromEntries(metadata)).toEqual({ '': { version: 1 }, '0': { version: 1 }, '1': { version: 2 } });
    expect(load('module_legacy.pt').metadata?.get('1')).toEqual({ version: 2 });
  });

  it.each(['nested.pt', 'nested_legacy.pt'])('%s: finds the state dict under "model" and skips the rest', (name) => {
    // Next to the model: epoch, an SGD state dict with momentum tensors and an argparse.Namespace, never executed.
    const checkpoint = load(name);
    expect(checkpoint.nestedUnder).toBe('model');
    expectMatchesReference(checkpoint.tensors, 'nested');
  });
});

describe('readTorchCheckpoint: errors', () => {
  const fails = (bytes: Uint8Array, pattern: RegExp, name = 'x.pth') => {
    expect(() => readTorchCheckpoint(bytes, name)).toThrow(WeightsFormatError);
    expect(() => readTorchCheckpoint(bytes, name)).toThrow(pattern);
  };

  it('refuses a pickled os.system call by name without running it', () => {
    const marker = '/tmp/dashseg-pickle-was-executed';
    rmSync(marker, { force: true });
    fails(file('evil.pt'), /^x\.pth: the file holds posix\.system\(\.\.\.\), not a state dict; refused \(nothing was executed\)$/);
    fails(file('evil_value.pt'), /state dict entry "hook" is posix\.system\(\.\.\.\), which is not a tensor/);
    expect(existsSync(marker)).toBe(false);
  });

  it('names the key with an unsupported storage type', () => {
    fails(file('complex.pt'), /state dict entry "phase" uses the unknown storage type torch\.ComplexFloatStorage/);
  });

  it('lists the top-level keys when there is no single state dict', () => {
    fails(file('two_state_dicts.pt'), /several state dicts \("model", "model_ema"\); top-level keys: "model", "model_ema"/);
    fails(file('no_state_dict.pt'), /no state dict \(a dict of tensors\) found; top-level keys: "epoch", "note"/);
  });

  it('explains TorchScript archives', () => {
    fails(file('torchscript.pt'), /TorchScript archive \(torch\.jit\.save\)/);
  });

  it('detects truncation in either format', () => {
    const zip = file('dtypes.pt');
    fails(zip.subarray(0, zip.length >> 1), /truncated zip checkpoint/);
    fails(zip.subarray(0, zip.length - 1), /truncated zip checkpoint/);
    const legacy = file('dtypes_legacy.pt');
    fails(legacy.subarray(0, 10), /truncated legacy checkpoint: it ends inside the magic number/);
    fails(legacy.subarray(0, 400), /^x\.pth: truncated pickle/);
    fails(legacy.subarray(0, legacy.length - 1), /truncated legacy checkpoint: storage \d+ needs \d+ bytes/);
    fails(Buffer.concat([legacy, Buffer.from([0])]), /1 unexpected bytes after the last storage/);
  });

  it('refuses what is not a checkpoint', () => {
    fails(new Uint8Array(0), /empty file/);
    fails(new TextEncoder().encode('hello, this is not a checkpoint'), /not a PyTorch checkpoint \(starts with 68 65 6c 6c/);
    fails(Uint8Array.from([0x80, 0x02, 0x4b, 0x07, 0x2e]), /not a PyTorch checkpoint \(a pickle, but without torch's magic number\)/);
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('ustar'), 257);
    fails(tar, /tar-format checkpoint \(PyTorch before 0\.4, 2018\) is not supported/);
    fails(file('tensors.safetensors'), /safetensors file, not a PyTorch checkpoint/);
  });

  it('refuses a re-packed (compressed) zip', () => {
    const zip = new Uint8Array(file('module.pt'));
    const view = new DataView(zip.buffer);
    // Mark data.pkl's central-directory entry as deflated (method 8).
    for (let at = zip.length - 22; at >= 0; at--) {
      if (view.getUint32(at, true) !== 0x02014b50) continue;
      const entryName = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + view.getUint16(at + 28, true)));
      if (entryName.endsWith('data.pkl')) {
        view.setUint16(at + 10, 8, true);
        break;
      }
    }
    fails(zip, /zip entry module\/data\.pkl is compressed \(method 8\)/);
  });
});
