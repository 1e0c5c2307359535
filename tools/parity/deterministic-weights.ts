/**
 * The TypeScript half of tools/fixtures/make_resnet50_fixtures.py: the same counter-based hash that Python used to make
 * every weight of a full-size maskrcnn_resnet50_fpn, bit for bit, so that the 170 MB state dict never has to be
 * committed; and the same integer-only synthetic image.
 *
 *   key(name) = FNV-1a 32 of the name's UTF-8 bytes, XOR seed
 *   bits(i)   = fmix32(fmix32(i) XOR key)            murmur3's finalizer; everything mod 2^32
 *   unit(i)   = ((bits(i) >>> 8) - 2^23) * 2^-23     exactly representable in float32, in [-1, 1)
 *   value(i)  = f32(f32(unit(i) * scale) + offset)   scale and offset are float32 values from recipe.json
 *
 * Each float step is one IEEE float32 operation in numpy; here it is the exact double result rounded once to float32
 * (a product of two float32 values is exact in double, and double-then-float rounding of a sum is innocuous), so both
 * sides produce the same bits.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../src/model/weights/npy';
import { fromFloat32, type RawTensor } from '../../src/model/weights/tensor';

/**
 * `a * b mod 2^32` for uint32 operands, from 16-bit halves: every partial product and sum is exact in double. Math.imul
 * would do, but inside Jest's vm context it is ~70x slower than this (it is not inlined there), and the generator
 * makes ~90 M of these.
 */
export function mul32(a: number, b: number): number {
  const low = (a & 0xffff) * (b & 0xffff);
  const cross = (((a >>> 16) * (b & 0xffff) + (a & 0xffff) * (b >>> 16)) & 0xffff) * 0x10000;
  return (low + cross) >>> 0;
}

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) hash = mul32((hash ^ byte) >>> 0, 0x01000193);
  return hash;
}

/** murmur3's 32-bit finalizer (a bijection on uint32). */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = mul32(h, 0x85ebca6b);
  h = (h ^ (h >>> 13)) >>> 0;
  h = mul32(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `count` float32 values hashed from (name, index): unit(i) * scale + offset. */
export function hashedValues(name: string, count: number, seed: number, scale: number, offset = 0): Float32Array {
  const key = (fnv1a32(name) ^ seed) >>> 0;
  // Storing into a Float32Array rounds to float32 (Math.fround, like Math.imul, is slow inside Jest).
  const [s, o] = Float32Array.of(scale, offset) as unknown as [number, number];
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const bits = fmix32(fmix32(i) ^ key);
    out[i] = ((bits >>> 8) - 0x800000) * 2 ** -23 * s;
    if (o !== 0) out[i] = (out[i] as number) + o;
  }
  return out;
}

export interface RecipeEntry {
  name: string;
  shape: number[];
  /** `hash`: hashedValues(name, ..., scale, offset). `calibrated`: the next values of calibrated.npy. */
  init: 'hash' | 'calibrated';
  scale?: number;
  offset?: number;
}

export interface ImageInfo {
  height: number;
  width: number;
  /** sha256 of the RGB bytes, row-major, 3 per pixel. */
  rgbSha256: string;
  file?: string;
}

export interface Recipe {
  seed: number;
  /** FrozenBatchNorm2d eps the reference ran with. */
  eps: number;
  /** sha256 over every tensor's little-endian float32 bytes, in recipe order. */
  stateDictSha256: string;
  images: { photo: ImageInfo; synthetic: ImageInfo };
  tensors: RecipeEntry[];
}

export function readRecipe(dir: string): Recipe {
  return JSON.parse(readFileSync(join(dir, 'recipe.json'), 'utf8')) as Recipe;
}

export interface GeneratedStateDict {
  tensors: Map<string, RawTensor>;
  /** The same digest as recipe.stateDictSha256 when both sides agree. */
  sha256: string;
}

/** Every tensor of the recipe: hashed ones regenerated, calibrated ones read from `dir`/calibrated.npy. */
export function generateStateDict(dir: string, recipe: Recipe): GeneratedStateDict {
  const calibrated = readNpy(join(dir, 'calibrated.npy')).data as Float32Array;
  const digest = createHash('sha256');
  const tensors = new Map<string, RawTensor>();
  let used = 0;
  for (const entry of recipe.tensors) {
    const count = entry.shape.reduce((product, size) => product * size, 1);
    let values: Float32Array;
    if (entry.init === 'hash') {
      values = hashedValues(entry.name, count, recipe.seed, entry.scale ?? 1, entry.offset ?? 0);
    } else {
      values = calibrated.slice(used, used + count);
      used += count;
    }
    const tensor = fromFloat32(values, entry.shape);
    digest.update(tensor.data);
    tensors.set(entry.name, tensor);
  }
  if (used !== calibrated.length) throw new Error(`calibrated.npy holds ${calibrated.length} values, the recipe uses ${used}`);
  return { tensors, sha256: digest.digest('hex') };
}

// --- the synthetic image ---------------------------------------------------------------------------------------------

const IMAGE_KEY = 0x1a2b3c4d;
/** x0, y0, x1, y1 (exclusive), r, g, b: filled rectangles, drawn in order. */
const RECTANGLES: readonly (readonly number[])[] = [
  [0, 300, 640, 480, 96, 96, 104],
  [60, 250, 250, 380, 180, 30, 40],
  [90, 210, 220, 260, 150, 20, 30],
  [380, 270, 600, 420, 30, 60, 170],
  [300, 330, 330, 470, 240, 240, 240],
  [500, 120, 520, 300, 70, 70, 70],
];
/** cx, cy, radius, r, g, b: filled discs, drawn after the rectangles. */
const DISCS: readonly (readonly number[])[] = [
  [100, 385, 28, 20, 20, 20],
  [215, 385, 28, 20, 20, 20],
  [420, 425, 30, 15, 15, 15],
  [560, 425, 30, 15, 15, 15],
  [300, 120, 60, 250, 220, 90],
];

/** RGB bytes [height, width, 3]: gradients, a few shapes and hashed noise, from integers only. */
export function syntheticImage(height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  const rgb = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      rgb[0] = 40 + Math.floor((x * 160) / (width - 1));
      rgb[1] = 80 + Math.floor((y * 120) / (height - 1));
      rgb[2] = 200 - Math.floor(((x + y) * 100) / (width + height - 2));
      for (const [x0, y0, x1, y1, r, g, b] of RECTANGLES as number[][]) {
        if (x >= (x0 as number) && x < (x1 as number) && y >= (y0 as number) && y < (y1 as number)) {
          rgb[0] = r as number;
          rgb[1] = g as number;
          rgb[2] = b as number;
        }
      }
      for (const [cx, cy, radius, r, g, b] of DISCS as number[][]) {
        const dx = x - (cx as number);
        const dy = y - (cy as number);
        if (dx * dx + dy * dy <= (radius as number) * (radius as number)) {
          rgb[0] = r as number;
          rgb[1] = g as number;
          rgb[2] = b as number;
        }
      }
      const bits = fmix32((y * width + x) ^ IMAGE_KEY);
      const pixel = 3 * (y * width + x);
      for (let c = 0; c < 3; c++) {
        const noise = ((bits >>> (8 * c)) & 7) - 4;
        out[pixel + c] = Math.min(255, Math.max(0, (rgb[c] as number) + noise));
      }
    }
  }
  return out;
}
