import { bytesPerElement, checkRawTensor, DType, elementCount, RawTensor, WeightsFormatError } from './tensor';

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * ({"__metadata__": {string: string}, name: {dtype, shape, data_offsets: [begin, end]}}, padded with spaces), then the
 * tensors' little-endian bytes, offsets relative to the end of the header.
 */

export interface Safetensors {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

const TO_DTYPE: Record<string, DType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

const FROM_DTYPE: Record<DType, string> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** The reference implementation refuses larger headers; so does this reader, before parsing anything. */
const MAX_HEADER_BYTES = 100_000_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

interface Placed {
  name: string;
  begin: number;
  end: number;
}

export function readSafetensors(input: Uint8Array, name = 'safetensors'): Safetensors {
  // A plain Uint8Array over the same memory: on a Node Buffer, slice() would return a view instead of a copy.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (message: string): never => {
    throw new WeightsFormatError(`${name}: ${message}`);
  };
  if (bytes.length < 8) return fail(`truncated safetensors file: ${bytes.length} bytes, not even a header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    return fail(`not a safetensors file (header length ${headerLength} is implausible)`);
  }
  const dataStart = 8 + Number(headerLength);
  if (dataStart > bytes.length) return fail(`truncated safetensors file: the ${headerLength}-byte header runs past the end`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    return fail(`not a safetensors file (header is not JSON: ${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isRecord(header)) return fail('not a safetensors file (header is not a JSON object)');

  const metadata: Record<string, string> = {};
  const placed: Placed[] = [];
  const infos = new Map<string, { dtype: DType; shape: number[] }>();
  for (const [key, value] of Object.entries(header)) {
    if (key === '__metadata__') {
      if (!isRecord(value)) return fail('__metadata__ is not an object');
      for (const [metaKey, metaValue] of Object.entries(value)) {
        if (typeof metaValue !== 'string') return fail(`__metadata__.${metaKey} is not a string`);
        metadata[metaKey] = metaValue;
      }
      continue;
    }
    if (!isRecord(value)) return fail(`tensor "${key}": entry is not an object`);
    const { dtype: dtypeName, shape, data_offsets: offsets } = value;
    const dtype = typeof dtypeName === 'string' ? TO_DTYPE[dtypeName] : undefined;
    if (dtype === undefined) return fail(`tensor "${key}": unsupported dtype ${JSON.stringify(dtypeName)}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`tensor "${key}": bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      return fail(`tensor "${key}": bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(shape as number[]) * bytesPerElement(dtype);
    if (end < begin || end - begin !== expected) {
      return fail(
        `tensor "${key}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ${dtype} [${shape.join(', ')}] needs ${expected}`,
      );
    }
    placed.push({ name: key, begin, end });
    infos.set(key, { dtype, shape: [...(shape as number[])] });
  }

  // Like the reference reader, require the tensors to tile the data section exactly: an overlap, a gap or a missing
  // tail means the header does not describe this file.
  const dataLength = bytes.length - dataStart;
  const sorted = [...placed].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = '';
  for (const entry of sorted) {
    if (entry.begin < cursor) return fail(`tensors "${previous}" and "${entry.name}" overlap (byte ${entry.begin} of the data)`);
    if (entry.begin > cursor) {
      return fail(`${entry.begin - cursor} unused bytes before tensor "${entry.name}" (data byte ${cursor})`);
    }
    cursor = entry.end;
    previous = entry.name;
  }
  if (cursor > dataLength) {
    return fail(`truncated safetensors file: tensor "${previous}" ends at data byte ${cursor}, the data has ${dataLength}`);
  }
  if (cursor < dataLength) return fail(`${dataLength - cursor} bytes after the last tensor that the header does not describe`);

  const tensors = new Map<string, RawTensor>();
  for (const entry of placed) {
    const info = infos.get(entry.name) as { dtype: DType; shape: number[] };
    // A copy of its own per tensor: aligned for typed arrays, and not pinning the whole file.
    tensors.set(entry.name, { ...info, data: bytes.slice(dataStart + entry.begin, dataStart + entry.end) });
  }
  return { tensors, metadata };
}

/**
 * Write tensors as safetensors. Laid out by decreasing element size, then name, as the reference writer does, so that
 * with the 8-byte-aligned header every tensor starts aligned to its element size.
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, RawTensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort((a, b) => {
    const bySize = bytesPerElement((tensors.get(b) as RawTensor).dtype) - bytesPerElement((tensors.get(a) as RawTensor).dtype);
    return bySize !== 0 ? bySize : a < b ? -1 : a > b ? 1 : 0;
  });
  // Built by hand rather than with one JSON.stringify of an object: objects move integer-like keys ("0") first.
  const entries: string[] = [];
  if (Object.keys(metadata).length > 0) entries.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const key of names) {
    if (key === '__metadata__') throw new WeightsFormatError('a tensor cannot be named __metadata__ in a safetensors file');
    const tensor = tensors.get(key) as RawTensor;
    checkRawTensor(tensor, key);
    const end = offset + tensor.data.byteLength;
    const info = { dtype: FROM_DTYPE[tensor.dtype], shape: tensor.shape, data_offsets: [offset, end] };
    entries.push(`${JSON.stringify(key)}:${JSON.stringify(info)}`);
    offset += tensor.data.byteLength;
  }
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const key of names) {
    const data = (tensors.get(key) as RawTensor).data;
    out.set(data, at);
    at += data.byteLength;
  }
  return out;
}
