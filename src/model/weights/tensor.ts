import { UserError } from '../../errors';

/** Element types a PyTorch state dict or a safetensors file can hold that dashseg reads. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** A tensor as stored on disk, before any conversion: what both checkpoint readers produce and the writer takes. */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  /** Contiguous little-endian bytes in C order: elementCount(shape) × bytesPerElement(dtype) of them. */
  data: Uint8Array;
}

/** A weights file that cannot be read as it is: the user has to re-save or replace it, so it is a UserError. */
export class WeightsFormatError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsFormatError';
  }
}

const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function bytesPerElement(dtype: DType): number {
  return BYTES_PER_ELEMENT[dtype];
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}

/** Typed arrays use the host's byte order; the files are little-endian. Every mainstream host is little-endian, but
 * the conversions below fall back to DataView rather than silently producing swapped values elsewhere. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverse the byte order of every element in place (big-endian records, spec §10.2). */
export function swapByteOrder(bytes: Uint8Array, elementSize: number): void {
  if (elementSize === 1) return;
  for (let i = 0; i + elementSize <= bytes.length; i += elementSize) {
    for (let a = i, b = i + elementSize - 1; a < b; a++, b--) {
      const t = bytes[a] as number;
      bytes[a] = bytes[b] as number;
      bytes[b] = t;
    }
  }
}

/** Check that a tensor's byte length matches its shape and dtype; every conversion relies on it. */
export function checkRawTensor(tensor: RawTensor, name = 'tensor'): void {
  const expected = elementCount(tensor.shape) * bytesPerElement(tensor.dtype);
  if (tensor.data.byteLength !== expected) {
    throw new WeightsFormatError(
      `${name}: ${tensor.dtype} [${tensor.shape.join(', ')}] needs ${expected} bytes, has ${tensor.data.byteLength}`,
    );
  }
}

let halfToFloatBitsTable: Uint32Array | undefined;

/** float32 bit patterns of all 65 536 halves, so that decoding is one lookup per element. Built from bits rather than
 * arithmetic so that signed zeros, infinities and NaN payloads come through exactly as torch's conversion gives them. */
function halfToFloatBits(): Uint32Array {
  if (halfToFloatBitsTable) return halfToFloatBitsTable;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    let mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      table[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    } else if (exponent !== 0) {
      table[h] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    } else if (mantissa === 0) {
      table[h] = sign >>> 0;
    } else {
      // A subnormal half is a normal float32: shift the leading 1 into the implicit-bit position.
      let e = 113;
      while ((mantissa & 0x400) === 0) {
        mantissa <<= 1;
        e--;
      }
      table[h] = (sign | (e << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
    }
  }
  halfToFloatBitsTable = table;
  return table;
}

/** Round an int64 to float32 in one rounding step: Number(bigint) would round to float64 first, and rounding twice can
 * land on the other neighbour for magnitudes above 2^53. */
function int64ToFloat32(value: bigint): number {
  const magnitude = value < 0n ? -value : value;
  if (magnitude <= 9007199254740992n) return Math.fround(Number(value));
  const bits = magnitude.toString(2).length;
  const drop = BigInt(bits - 24);
  let kept = magnitude >> drop;
  const remainder = magnitude - (kept << drop);
  const half = 1n << (drop - 1n);
  if (remainder > half || (remainder === half && (kept & 1n) === 1n)) kept += 1n;
  const rounded = Number(kept << drop);
  return Math.fround(value < 0n ? -rounded : rounded);
}

/**
 * Convert any supported dtype to float32 the way torch's `.float()` does: exact for float16/bfloat16 (every value,
 * subnormals, infinities and NaN included), round-to-nearest-even for float64 and the wide integers.
 */
export function toFloat32(tensor: RawTensor, name = 'tensor'): Float32Array {
  checkRawTensor(tensor, name);
  const count = elementCount(tensor.shape);
  const out = new Float32Array(count);
  const bytes = tensor.data;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (tensor.dtype) {
    case 'float32':
      if (HOST_LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
      else for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'float16': {
      const table = halfToFloatBits();
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = table[view.getUint16(i * 2, true)] as number;
      return out;
    }
    case 'bfloat16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case 'int64':
      for (let i = 0; i < count; i++) out[i] = int64ToFloat32(view.getBigInt64(i * 8, true));
      return out;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      return out;
    case 'int8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    case 'uint8':
      out.set(bytes);
      return out;
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      return out;
  }
}

/** Round one float32 (given as its bits) to the nearest float16, ties to even; NaN stays NaN, overflow becomes inf. */
function floatBitsToHalf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  const e = exponent - 112; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    let half = (e << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    // A carry out of the mantissa bumps the exponent, up to inf: the encoding makes that correct by itself.
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
    return sign | half;
  }
  // Subnormal result: count units of 2^-24. Below 2^-25 everything rounds to zero (exactly 2^-25 ties to even, 0).
  const shift = 14 - e;
  if (shift > 24) return sign;
  const significand = mantissa | 0x800000;
  let half = significand >>> shift;
  const rest = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
  return sign | half;
}

/** Round one float32 (given as its bits) to bfloat16, ties to even; NaN stays a quiet NaN. */
function floatBitsToBfloat16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** float16 bit patterns of float32 values, rounded to nearest even as numpy's and torch's `.half()` do. */
export function float32ToFloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatBitsToHalf(bits[i] as number);
  return out;
}

/** bfloat16 bit patterns of float32 values, rounded to nearest even as torch's `.bfloat16()` does. */
export function float32ToBfloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatBitsToBfloat16(bits[i] as number);
  return out;
}

function littleEndianBytes(array: Float32Array | Uint16Array): Uint8Array {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (!HOST_LITTLE_ENDIAN) swapByteOrder(bytes, array.BYTES_PER_ELEMENT);
  return bytes;
}

/** Build a RawTensor from float32 values, encoding them as float32, float16 or bfloat16 (for export). */
export function fromFloat32(
  values: Float32Array,
  shape: number[],
  dtype: 'float32' | 'float16' | 'bfloat16' = 'float32',
): RawTensor {
  if (elementCount(shape) !== values.length) {
    throw new WeightsFormatError(
      `shape [${shape.join(', ')}] holds ${elementCount(shape)} elements, got ${values.length} values`,
    );
  }
  switch (dtype) {
    case 'float32':
      return { dtype, shape: [...shape], data: littleEndianBytes(values.slice()) };
    case 'float16':
      return { dtype, shape: [...shape], data: littleEndianBytes(float32ToFloat16Bits(values)) };
    case 'bfloat16':
      return { dtype, shape: [...shape], data: littleEndianBytes(float32ToBfloat16Bits(values)) };
  }
}
