/**
 * PNG writing for the dataset's stills: 8-bit RGB, every row with the Sub filter, deflated with run-length matching
 * only. Sensor noise leaves long matches nowhere to be found, so searching for them (canvas's encoder, zlib's
 * default strategy) costs several times as long for files no smaller; the async form deflates on libuv's thread
 * pool while the next scene renders.
 */
import { constants, deflate, deflateSync, type ZlibOptions } from 'node:zlib';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const DEFLATE: ZlibOptions = { level: 3, strategy: constants.Z_RLE };

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Rows of RGB, each preceded by its filter byte (1: Sub, each byte minus the one a pixel to its left). */
function filteredRows(rgba: Uint8Array, width: number, height: number): Buffer {
  const stride = width * 3 + 1;
  const raw = Buffer.allocUnsafe(stride * height);
  for (let y = 0; y < height; y++) {
    let out = y * stride;
    raw[out++] = 1;
    let src = y * width * 4;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let x = 0; x < width; x++, src += 4) {
      const nr = rgba[src];
      const ng = rgba[src + 1];
      const nb = rgba[src + 2];
      raw[out++] = (nr - r) & 0xff;
      raw[out++] = (ng - g) & 0xff;
      raw[out++] = (nb - b) & 0xff;
      r = nr;
      g = ng;
      b = nb;
    }
  }
  return raw;
}

function assemble(width: number, height: number, compressed: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', compressed), chunk('IEND', new Uint8Array(0))]);
}

/** An opaque RGBA image as PNG bytes (alpha is dropped). */
export function encodePng(rgba: Uint8Array, width: number, height: number): Buffer {
  return assemble(width, height, deflateSync(filteredRows(rgba, width, height), DEFLATE));
}

/** encodePng with the deflate off the JavaScript thread. */
export function encodePngAsync(rgba: Uint8Array, width: number, height: number): Promise<Buffer> {
  const raw = filteredRows(rgba, width, height);
  return new Promise((resolve, reject) => {
    deflate(raw, DEFLATE, (error, compressed) => (error ? reject(error) : resolve(assemble(width, height, compressed))));
  });
}
