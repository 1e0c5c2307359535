import { readFileSync } from 'node:fs';

/** The element types NumPy's .npy files hold that dashseg reads: what torchvision's tensors are made of. */
export type NpyDtype = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** Elements in C order. float16 stays as raw Uint16 bits; int64 as BigInt64Array. */
  data: Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;
}

const DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '<i8': 'int64',
  '<i4': 'int32',
  '|u1': 'uint8',
  '|b1': 'bool',
};

const BYTES: Record<NpyDtype, number> = { float32: 4, float64: 8, float16: 2, int64: 8, int32: 4, uint8: 1, bool: 1 };

/**
 * Parse a NumPy .npy file (format versions 1-3). Parity fixtures are written with `numpy.save` so that tests need
 * no Python and no PyTorch reader to load reference tensors.
 */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new Error(`${name}: not a .npy file`);
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const dtype = descr !== undefined ? DESCR[descr] : undefined;
  if (!dtype) throw new Error(`${name}: unsupported dtype ${descr ?? '(none)'}`);
  if (fortran) throw new Error(`${name}: Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray`);
  if (shapeText === undefined) throw new Error(`${name}: no shape in header`);
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(Number);
  const count = shape.reduce((product, size) => product * size, 1);
  const offset = headerStart + headerLength;
  const byteLength = count * BYTES[dtype];
  if (bytes.byteLength - offset < byteLength) throw new Error(`${name}: ${byteLength} bytes of data expected, file is short`);
  // Copy into a buffer of its own: typed arrays need their element alignment, which the header does not promise
  // (and a Node Buffer may be a view into a shared pool).
  const raw = new Uint8Array(bytes.subarray(offset, offset + byteLength)).buffer;
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: new Float32Array(raw) };
    case 'float64':
      return { dtype, shape, data: new Float64Array(raw) };
    case 'float16':
      return { dtype, shape, data: new Uint16Array(raw) };
    case 'int64':
      return { dtype, shape, data: new BigInt64Array(raw) };
    case 'int32':
      return { dtype, shape, data: new Int32Array(raw) };
    default:
      return { dtype, shape, data: new Uint8Array(raw) };
  }
}

export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}
