import {
  describePickleValue,
  GlobalHandler,
  isList,
  isTuple,
  PickleDict,
  PickleGlobal,
  PickleHost,
  PickleObject,
  PickleValue,
  unpickleAt,
  UnpickleOptions,
} from './pickle';
import { bytesPerElement, DType, elementCount, RawTensor, swapByteOrder, WeightsFormatError } from './tensor';
import { readZipEntries, type ZipEntry } from './zip';

/**
 * Reads PyTorch checkpoints (`torch.save` of a state dict) in both serialization formats, without Python
 * (spec §10): the zip format of torch ≥ 1.6 (an archive, read by zip.ts, holding the pickle `data.pkl` and one
 * record per storage under `data/`) and the legacy stream of older files; then finds the state dict in what they
 * unpickle to and copies its tensors out of their storages.
 *
 * A little over this project's ~450 lines, kept whole: both formats end in the same persistent-id storages and the
 * same state-dict search, which they share here.
 */

export interface TorchCheckpoint {
  /** The state dict's tensors in file order, `num_batches_tracked` (int64) included. */
  tensors: Map<string, RawTensor>;
  format: 'zip' | 'legacy';
  /** The state dict's `_metadata`: module prefix ('' for the root) → its local metadata, e.g. { version: 2 }. The
   * versions tell which key-naming era applies (spec §9.3). Absent when the file has none. */
  metadata?: Map<string, Record<string, PickleValue>>;
  /** The top-level key the state dict was found under ('model', 'state_dict'); absent when the file is the state
   * dict itself. */
  nestedUnder?: string;
}

const STORAGE_TYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const LEGACY_MAGIC = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** A storage as a persistent id describes it; its bytes are found later (zip record, or legacy data section). */
class StorageRef extends PickleHost {
  constructor(
    readonly key: string,
    /** Undefined for storage classes dashseg does not read (complex, quantized): refused only if a tensor is used. */
    readonly dtype: DType | undefined,
    readonly typeName: string,
    /** Elements visible through this reference. */
    readonly numel: number,
    /** Elements of the whole storage (differs from numel only for legacy views). */
    readonly rootNumel: number,
    /** Legacy view storages start this many elements into their root storage. */
    readonly elementOffset: number,
  ) {
    super();
  }
}

/** `torch._utils._rebuild_tensor_v2` arguments: the tensor is as_strided(storage, shape, stride, offset). */
class TensorRef extends PickleHost {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {
    super();
  }
}

function intArg(value: PickleValue | undefined, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${what} must be a non-negative integer, got ${describePickleValue(value)}`);
  }
  return value;
}

function intTuple(value: PickleValue | undefined, what: string): number[] {
  if (!isTuple(value)) throw new Error(`${what} must be a tuple, got ${describePickleValue(value)}`);
  return value.map((item, i) => intArg(item, `${what}[${i}]`));
}

function rebuildTensor(args: readonly PickleValue[]): PickleValue {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new Error(`expected a storage, got ${describePickleValue(storage)}`);
  const shape = intTuple(size, 'size');
  const strides = intTuple(stride, 'stride');
  if (shape.length !== strides.length) throw new Error(`size has ${shape.length} dimensions, stride ${strides.length}`);
  return new TensorRef(storage, intArg(offset, 'storage offset'), shape, strides);
}

/** A Parameter is its tensor. Whatever else it wraps passes through as is, to be refused only if the state dict
 * needs it. */
function rebuildParameter(args: readonly PickleValue[]): PickleValue {
  return args[0] ?? null;
}

/** The callables a state dict needs (besides OrderedDict, which the unpickler allows everywhere). */
const TORCH_GLOBALS: Record<string, GlobalHandler | null> = {
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  // Pre-1.0 files: (storage, offset, size, stride), no requires_grad.
  'torch._utils._rebuild_tensor': rebuildTensor,
  'torch._utils._rebuild_parameter': rebuildParameter,
  'torch._utils._rebuild_parameter_with_state': rebuildParameter,
  'torch.Size': (args) => {
    const dims = args[0];
    if (!isTuple(dims)) throw new Error(`expected a tuple, got ${describePickleValue(dims)}`);
    return dims;
  },
};
for (const name of Object.keys(STORAGE_TYPES)) TORCH_GLOBALS[`torch.${name}`] = null;

/** Storage bytes by key, whichever format they came from. */
interface StorageSource {
  /** The whole (root) storage a reference points into, checked to be long enough for it. */
  bytes(ref: StorageRef, dtype: DType, tensorKey: string): Uint8Array;
  /** Records hold big-endian elements (zip `byteorder` record). */
  bigEndian: boolean;
}

interface ParsedCheckpoint {
  root: PickleValue;
  storages: StorageSource;
}

type Fail = (message: string) => never;

function storageLoader(format: 'zip' | 'legacy', fail: Fail): (pid: PickleValue) => PickleValue {
  return (pid) => {
    const expected = format === 'zip' ? 5 : 6;
    if (!isTuple(pid) || pid[0] !== 'storage' || pid.length < expected) {
      return fail(`unexpected persistent id ${describePickleValue(pid)}; expected a ${expected}-tuple ('storage', ...)`);
    }
    const [, type, key, , numel, viewMetadata] = pid;
    if (!(type instanceof PickleGlobal)) return fail(`persistent id names no storage class: ${describePickleValue(type)}`);
    if (typeof key !== 'string') return fail(`storage key ${describePickleValue(key)} is not a string`);
    const typeName = type.qualifiedName;
    const dtype = type.module === 'torch' ? STORAGE_TYPES[type.name] : undefined;
    const count = intArg(numel, `element count of storage ${key}`);
    if (format === 'legacy' && viewMetadata !== null && viewMetadata !== undefined) {
      // Very old saves: (view_key, offset, view_numel) selects elements [offset, offset + view_numel) of the root.
      if (!isTuple(viewMetadata) || viewMetadata.length !== 3) {
        return fail(`bad view metadata ${describePickleValue(viewMetadata)}`);
      }
      const offset = intArg(viewMetadata[1], 'view offset');
      const viewNumel = intArg(viewMetadata[2], 'view size');
      if (offset + viewNumel > count) {
        return fail(`storage view [${offset}, ${offset + viewNumel}) exceeds its root storage ${key} of ${count}`);
      }
      return new StorageRef(key, dtype, typeName, viewNumel, count, offset);
    }
    return new StorageRef(key, dtype, typeName, count, count, 0);
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Zip format: what torch.save puts in the archive (zip.ts reads the archive itself)

function readZipCheckpoint(bytes: Uint8Array, name: string, fail: Fail): ParsedCheckpoint {
  const entries = readZipEntries(bytes, fail);
  const entryBytes = (entry: ZipEntry): Uint8Array => {
    if (entry.method !== 0) {
      fail(
        `zip entry ${entry.name} is compressed (method ${entry.method}); torch.save writes uncompressed entries, ` +
          'so the file was re-packed: re-save it with torch.save or re-zip it without compression (zip -0)',
      );
    }
    return bytes.subarray(entry.dataOffset, entry.dataOffset + entry.size);
  };
  // The folder is the file stem when torch saved to a path and 'archive' otherwise, so take it from data.pkl.
  let pickle: ZipEntry | undefined;
  for (const entry of entries.values()) {
    const isPickle = entry.name === 'data.pkl' || entry.name.endsWith('/data.pkl');
    if (isPickle && (!pickle || entry.name.length < pickle.name.length)) pickle = entry;
  }
  if (!pickle) fail('a zip archive without data.pkl: not a PyTorch checkpoint');
  const prefix = pickle.name.slice(0, -'data.pkl'.length);
  if (entries.has(`${prefix}constants.pkl`) || [...entries.keys()].some((key) => key.startsWith(`${prefix}code/`))) {
    fail(
      'a TorchScript archive (torch.jit.save), not a state dict. In Python: ' +
        `torch.save(torch.jit.load(${JSON.stringify(name)}).state_dict(), "weights.pt")`,
    );
  }
  const byteorderEntry = entries.get(`${prefix}byteorder`);
  const byteorder = byteorderEntry ? new TextDecoder().decode(entryBytes(byteorderEntry)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') fail(`unknown byteorder record "${byteorder}"`);

  const root = unpickleAt(entryBytes(pickle), 0, {
    globals: TORCH_GLOBALS,
    persistentLoad: storageLoader('zip', fail),
    unknownGlobals: 'record',
    source: name,
  }).value;

  return {
    root,
    storages: {
      bytes(ref, dtype, tensorKey) {
        const record = entries.get(`${prefix}data/${ref.key}`);
        if (!record) return fail(`${tensorKey}: storage record data/${ref.key} is missing from the archive`);
        const data = entryBytes(record);
        const needed = ref.rootNumel * bytesPerElement(dtype);
        if (data.length < needed) {
          return fail(`${tensorKey}: storage record data/${ref.key} has ${data.length} bytes, needs ${needed}`);
        }
        return data;
      },
      bigEndian: byteorder === 'big',
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Legacy format

function readLegacyCheckpoint(bytes: Uint8Array, name: string, fail: Fail): ParsedCheckpoint {
  const plain = { source: name };
  let at = 0;
  const next = (options: UnpickleOptions): PickleValue => {
    const result = unpickleAt(bytes, at, options);
    at = result.end;
    return result.value;
  };
  if (bytes.length < LEGACY_MAGIC.length && startsWith(LEGACY_MAGIC, bytes)) {
    fail('truncated legacy checkpoint: it ends inside the magic number');
  }
  let magic: PickleValue;
  try {
    magic = next(plain);
  } catch {
    return fail('not a PyTorch checkpoint (a pickle stream, but not one torch.save wrote)');
  }
  if (magic !== LEGACY_MAGIC_NUMBER) fail('not a PyTorch checkpoint (a pickle, but without torch\'s magic number)');
  const protocol = next(plain);
  if (protocol !== LEGACY_PROTOCOL_VERSION) {
    fail(`legacy checkpoint protocol ${describePickleValue(protocol)} is not supported (expected ${LEGACY_PROTOCOL_VERSION})`);
  }
  // sys_info records the writer's endianness, but storages are always written little-endian, so it is not needed.
  next(plain);

  const references: StorageRef[] = [];
  const load = storageLoader('legacy', fail);
  const root = next({
    globals: TORCH_GLOBALS,
    persistentLoad: (pid) => {
      const ref = load(pid) as StorageRef;
      references.push(ref);
      return ref;
    },
    unknownGlobals: 'record',
    source: name,
  });
  const keys = next(plain);
  if (!isList(keys) || !keys.every((key) => typeof key === 'string')) {
    fail(`the storage key list is ${describePickleValue(keys)}`);
  }

  const roots = new Map<string, StorageRef>();
  for (const ref of references) if (!roots.has(ref.key)) roots.set(ref.key, ref);
  const data = new Map<string, Uint8Array>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as string[]) {
    const ref = roots.get(key);
    if (!ref) fail(`storage ${key} is listed but no tensor uses it`);
    if (ref.dtype === undefined) {
      fail(`storage ${key} has the unknown storage type ${ref.typeName}, so its size in bytes is unknown`);
    }
    if (at + 8 > bytes.length) fail(`truncated legacy checkpoint: the header of storage ${key} is missing`);
    const count = Number(view.getBigInt64(at, true));
    if (count !== ref.rootNumel) fail(`storage ${key} holds ${count} elements, its persistent id says ${ref.rootNumel}`);
    const length = count * bytesPerElement(ref.dtype);
    at += 8;
    if (at + length > bytes.length) {
      fail(`truncated legacy checkpoint: storage ${key} needs ${length} bytes, ${bytes.length - at} left`);
    }
    data.set(key, bytes.subarray(at, at + length));
    at += length;
  }
  if (at !== bytes.length) fail(`${bytes.length - at} unexpected bytes after the last storage`);
  return {
    root,
    storages: {
      bytes(ref, dtype, tensorKey) {
        const storage = data.get(ref.key);
        if (!storage) return fail(`${tensorKey}: storage ${ref.key} is not in the file`);
        const needed = ref.rootNumel * bytesPerElement(dtype);
        if (storage.length < needed) return fail(`${tensorKey}: storage ${ref.key} has ${storage.length} bytes, needs ${needed}`);
        return storage;
      },
      // Legacy storages are written little-endian whatever the machine (sys_info only records the writer's order).
      bigEndian: false,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Tensors

/** Copy a tensor's elements out of its storage as contiguous C-order bytes. */
function materialize(tensor: TensorRef, dtype: DType, storage: Uint8Array, key: string, fail: Fail): Uint8Array {
  const size = bytesPerElement(dtype);
  const { shape, stride } = tensor;
  const count = elementCount(shape);
  if (count === 0) return new Uint8Array(0);
  const first = tensor.storage.elementOffset + tensor.offset;
  let last = first;
  for (let d = 0; d < shape.length; d++) last += ((shape[d] as number) - 1) * (stride[d] as number);
  const available = tensor.storage.elementOffset + tensor.storage.numel;
  if (last >= available || (last + 1) * size > storage.length) {
    fail(
      `${key}: [${shape.join(', ')}] with strides [${stride.join(', ')}] at offset ${tensor.offset} ` +
        `reaches past its storage of ${tensor.storage.numel} elements`,
    );
  }
  // Trailing dimensions laid out contiguously form one block per step of the outer ones; for an ordinary tensor
  // that is the whole tensor and the copy is one slice.
  let inner = shape.length;
  let block = 1;
  while (inner > 0 && ((shape[inner - 1] as number) === 1 || (stride[inner - 1] as number) === block)) {
    block *= shape[inner - 1] as number;
    inner--;
  }
  if (inner === 0) return storage.slice(first * size, (first + count) * size);

  const out = new Uint8Array(count * size);
  const blockBytes = block * size;
  const index = new Array<number>(inner).fill(0);
  let source = first;
  for (let target = 0; target < out.length; target += blockBytes) {
    const from = source * size;
    if (blockBytes <= 16) for (let b = 0; b < blockBytes; b++) out[target + b] = storage[from + b] as number;
    else out.set(storage.subarray(from, from + blockBytes), target);
    for (let d = inner - 1; d >= 0; d--) {
      source += stride[d] as number;
      if (++(index[d] as number) < (shape[d] as number)) break;
      index[d] = 0;
      source -= (stride[d] as number) * (shape[d] as number);
    }
  }
  return out;
}

function isContainer(value: PickleValue): boolean {
  return value instanceof PickleDict || Array.isArray(value);
}

/** A dict that looks like a state dict: string keys, at least one tensor, nothing nested. Values that are not
 * tensors (recorded objects, plain values) still qualify, so that the error can name them. */
function looksLikeStateDict(value: PickleValue | undefined): boolean {
  if (!(value instanceof PickleDict)) return false;
  let tensors = 0;
  for (const [key, item] of value.items) {
    if (typeof key !== 'string' || isContainer(item)) return false;
    if (item instanceof TensorRef) tensors++;
  }
  return tensors > 0;
}

function findStateDict(root: PickleValue, fail: Fail): { dict: PickleDict; nestedUnder?: string } {
  if (root instanceof PickleObject) {
    fail(`the file holds ${describePickleValue(root)}, not a state dict; refused (nothing was executed)`);
  }
  if (root instanceof TensorRef) fail('the file holds a single tensor, not a state dict');
  if (!(root instanceof PickleDict)) return fail(`the file holds ${describePickleValue(root)}, not a state dict`);
  if (looksLikeStateDict(root)) return { dict: root };
  const candidates = [...root.items].filter(([key, value]) => typeof key === 'string' && looksLikeStateDict(value));
  const keys = [...root.items.keys()].map((key) => (typeof key === 'string' ? JSON.stringify(key) : describePickleValue(key)));
  const listing = keys.length > 0 ? keys.join(', ') : 'none';
  if (candidates.length === 0) fail(`no state dict (a dict of tensors) found; top-level keys: ${listing}`);
  if (candidates.length > 1) {
    const names = candidates.map(([key]) => JSON.stringify(key)).join(', ');
    fail(`several state dicts (${names}); top-level keys: ${listing}. Save the one to use on its own`);
  }
  const [key, dict] = candidates[0] as [string, PickleDict];
  return { dict, nestedUnder: key };
}

function moduleMetadata(dict: PickleDict): Map<string, Record<string, PickleValue>> | undefined {
  const metadata = dict.attributes.get('_metadata');
  if (!(metadata instanceof PickleDict)) return undefined;
  const result = new Map<string, Record<string, PickleValue>>();
  for (const [prefix, local] of metadata.items) {
    if (typeof prefix !== 'string' || !(local instanceof PickleDict)) continue;
    const entries: Record<string, PickleValue> = {};
    for (const [key, value] of local.items) if (typeof key === 'string') entries[key] = value;
    result.set(prefix, entries);
  }
  return result;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return headerLength < BigInt(bytes.length) && bytes[8] === 0x7b;
}

/**
 * Read a `torch.save`d state dict, plain or nested under one key of a training checkpoint ({'model': ..., 'epoch':
 * ...}). Never executes anything: a non-whitelisted Python global is refused by name wherever the state dict needs it,
 * and merely skipped (never called) in the rest of a training checkpoint (argparse.Namespace, optimizer settings).
 */
export function readTorchCheckpoint(input: Uint8Array, name = 'checkpoint'): TorchCheckpoint {
  // A plain Uint8Array over the same memory: on a Node Buffer, slice() would return a view instead of a copy.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail: Fail = (message) => {
    throw new WeightsFormatError(`${name}: ${message}`);
  };
  if (bytes.length === 0) fail('empty file');
  let format: 'zip' | 'legacy';
  let parsed: ParsedCheckpoint;
  if (startsWith(bytes, Uint8Array.from([0x50, 0x4b, 0x03, 0x04]))) {
    format = 'zip';
    parsed = readZipCheckpoint(bytes, name, fail);
  } else if (bytes[0] === 0x80) {
    // A pickle: usually exactly LEGACY_MAGIC, but a save with another pickle_protocol spells the number differently.
    format = 'legacy';
    parsed = readLegacyCheckpoint(bytes, name, fail);
  } else if (bytes.length >= 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar') {
    return fail(
      'a tar-format checkpoint (PyTorch before 0.4, 2018) is not supported: load it with an old torch and re-save it with torch.save',
    );
  } else if (looksLikeSafetensors(bytes)) {
    return fail('this is a safetensors file, not a PyTorch checkpoint; give it a .safetensors extension');
  } else {
    const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    return fail(`not a PyTorch checkpoint (starts with ${head}; expected a zip archive or the legacy pickle magic)`);
  }

  const { dict, nestedUnder } = findStateDict(parsed.root, fail);
  const tensors = new Map<string, RawTensor>();
  for (const [key, value] of dict.items) {
    const entry = key as string;
    if (!(value instanceof TensorRef)) {
      fail(`state dict entry "${entry}" is ${describePickleValue(value)}, which is not a tensor; refused (nothing was executed)`);
    }
    const dtype = value.storage.dtype;
    if (dtype === undefined) fail(`state dict entry "${entry}" uses the unknown storage type ${value.storage.typeName}`);
    const data = materialize(value, dtype, parsed.storages.bytes(value.storage, dtype, entry), entry, fail);
    if (parsed.storages.bigEndian) swapByteOrder(data, bytesPerElement(dtype));
    tensors.set(entry, { dtype, shape: [...value.shape], data });
  }
  const metadata = moduleMetadata(dict);
  return { tensors, format, ...(metadata ? { metadata } : {}), ...(nestedUnder !== undefined ? { nestedUnder } : {}) };
}
