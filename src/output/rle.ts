/**
 * COCO compressed run-length encoding, byte-identical to pycocotools (`pycocotools.mask.encode`, which is
 * `rleEncode` + `rleToString` in cocoapi's maskApi.c), so that any COCO tool decodes our masks.
 *
 * The format, as maskApi.c defines it:
 * - Pixels are visited in column-major (Fortran) order: down the first column, then the next.
 * - Runs alternate background/foreground and always start with background, so a mask whose first pixel is
 *   foreground starts with a zero-length run, and a zero-pixel image is the single run [0].
 * - In the string, each run from the fourth on (index > 2, not >= 2: a quirk we must copy) is stored as the
 *   difference from the run two places back, which is small for smooth shapes because consecutive columns
 *   cross an object at similar heights.
 * - Each value is written low bits first in 5-bit groups, one character per group: 0x20 flags "more groups
 *   follow", 0x10 of the last group is the sign bit, and 48 is added so the text is printable ('0'..'o').
 */

/** A COCO compressed RLE. `size` is `[height, width]`, as pycocotools writes it. */
export interface CocoRle {
  size: [number, number];
  counts: string;
}

/** maskApi.c stores runs in a C `uint`; a larger image cannot be represented by pycocotools at all. */
const MAX_AREA = 0xffffffff;

/** Every character of a compressed string is 48 plus a 6-bit group. */
const CHAR_MIN = 48;
const CHAR_MAX = 48 + 0x3f;

/**
 * Ten groups carry 50 bits, more than any run that fits MAX_AREA needs, while keeping every intermediate
 * value an exact integer in a double; a longer value is garbage rather than a big number.
 */
const MAX_GROUPS = 10;

/** The longest value the encoder can emit: 32-bit magnitude plus sign needs 33 bits, so 7 groups. */
const MAX_CHARS_PER_VALUE = 7;

/**
 * Reused output buffer. Encoding is synchronous and each worker thread has its own module instance, so one
 * buffer per module is never shared by two encodes at once, and a frame full of instances allocates nothing
 * but the final strings.
 */
let scratch = Buffer.allocUnsafe(4096);

/**
 * Writes runs into the compressed string one at a time; the delta coding only ever needs the two previous
 * runs, so no list of runs is kept.
 */
class CountsWriter {
  private length = 0;
  private index = 0;
  private back1 = 0;
  private back2 = 0;

  push(run: number): void {
    const value = this.index > 2 ? run - this.back2 : run;
    this.back2 = this.back1;
    this.back1 = run;
    this.index++;
    if (this.length + MAX_CHARS_PER_VALUE > scratch.length) {
      const grown = Buffer.allocUnsafe(scratch.length * 2);
      scratch.copy(grown, 0, 0, this.length);
      scratch = grown;
    }
    this.length = writeValue(scratch, this.length, value);
  }

  finish(): string {
    return scratch.toString('latin1', 0, this.length);
  }
}

/**
 * Writes one signed value the way rleToString does and returns the new end offset. Floor division stands in
 * for C's arithmetic `>>= 5` on a `long`, because JS bit operators would truncate values past 32 bits.
 */
function writeValue(out: Buffer, offset: number, value: number): number {
  let x = value;
  let at = offset;
  for (;;) {
    const high = Math.floor(x / 32);
    let group = x - high * 32;
    x = high;
    const more = (group & 0x10) !== 0 ? x !== -1 : x !== 0;
    if (more) group |= 0x20;
    out[at++] = group + CHAR_MIN;
    if (!more) return at;
  }
}

function checkDimension(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`RLE ${name} must be a non-negative integer, got ${String(value)}`);
  }
}

function checkArea(height: number, width: number): number {
  checkDimension('height', height);
  checkDimension('width', width);
  const area = height * width;
  if (area > MAX_AREA) {
    throw new RangeError(`RLE mask ${height}x${width} has ${area} pixels; COCO RLE holds at most ${MAX_AREA}`);
  }
  return area;
}

/** Index of the first nonzero byte, or -1. Reads aligned 32-bit words so empty space costs a quarter. */
function firstNonzero(mask: Uint8Array): number {
  const n = mask.length;
  let i = 0;
  while (i < n && ((mask.byteOffset + i) & 3) !== 0) {
    if (mask[i] !== 0) return i;
    i++;
  }
  const words = (n - i) >>> 2;
  if (words > 0) {
    const view = new Uint32Array(mask.buffer, mask.byteOffset + i, words);
    let w = 0;
    while (w < words && view[w] === 0) w++;
    i += w * 4;
  }
  // At most the 4 bytes of the nonzero word, or the unaligned tail.
  for (; i < n; i++) if (mask[i] !== 0) return i;
  return -1;
}

/** Index of the last nonzero byte, or -1; the mirror of firstNonzero. */
function lastNonzero(mask: Uint8Array): number {
  let end = mask.length;
  while (end > 0 && ((mask.byteOffset + end) & 3) !== 0) {
    if (mask[end - 1] !== 0) return end - 1;
    end--;
  }
  const words = end >>> 2;
  if (words > 0) {
    const view = new Uint32Array(mask.buffer, mask.byteOffset + end - words * 4, words);
    let w = words;
    while (w > 0 && view[w - 1] === 0) w--;
    end -= (words - w) * 4;
  }
  for (let i = end - 1; i >= 0; i--) if (mask[i] !== 0) return i;
  return -1;
}

/**
 * Column-major positions where the mask changes value, reused across calls like `scratch`. Collecting them in
 * a tight loop and writing the string afterwards keeps the per-pixel loop small enough for V8 to optimise
 * well; with the string writer inlined into it the scan ran about three times slower.
 */
let flips: Uint32Array = new Uint32Array(4096);

function growFlips(): Uint32Array {
  const grown = new Uint32Array(flips.length * 2);
  grown.set(flips);
  flips = grown;
  return grown;
}

interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** The foreground's bounding box, or null for an empty mask, found with row-major (cache-friendly) reads. */
function foregroundBounds(mask: Uint8Array, width: number): Bounds | null {
  const first = firstNonzero(mask);
  if (first < 0) return null;
  const minY = Math.floor(first / width);
  const maxY = Math.floor(lastNonzero(mask) / width);
  let minX = width;
  let maxX = -1;
  for (let y = minY; y <= maxY; y++) {
    const row = y * width;
    // Only the margins outside the box found so far can widen it.
    for (let x = 0; x < minX; x++) {
      if (mask[row + x] !== 0) {
        minX = x;
        break;
      }
    }
    for (let x = width - 1; x > maxX; x--) {
      if (mask[row + x] !== 0) {
        maxX = x;
        break;
      }
    }
  }
  return { minX, maxX, minY, maxY };
}

/** Where a mask's pixels sit in the image: `data[y * stride + x]` is image pixel (x0 + x, y0 + y). */
interface Placement {
  data: Uint8Array;
  stride: number;
  x0: number;
  y0: number;
}

/**
 * Fills `flips` with the column-major image positions where the value changes and returns how many there are.
 * `box` bounds the foreground in the mask's own coordinates; everything outside it is background.
 */
function collectFlips(mask: Placement, height: number, width: number, box: Bounds): number {
  const { minX, maxX, minY, maxY } = box;
  const { data, stride, x0, y0 } = mask;
  const area = height * width;
  // When the box spans whole columns, the pixel after a column's last one is the next column's first, which
  // the scan itself visits; otherwise it lies outside the box, so it is background.
  const columnsAreContiguous = y0 + minY === 0 && y0 + maxY === height - 1;
  const rows = maxY - minY + 1;
  let out = flips;
  let count = 0;
  let foreground = false;
  for (let x = minX; x <= maxX; x++) {
    const base = (x0 + x) * height + y0 + minY;
    // Strided reads down the column give COCO's order without a transposed copy.
    for (let y = 0, i = minY * stride + x; y < rows; y++, i += stride) {
      if ((data[i] !== 0) !== foreground) {
        if (count === out.length) out = growFlips();
        out[count++] = base + y;
        foreground = !foreground;
      }
    }
    if (foreground && !(columnsAreContiguous && x < maxX)) {
      const next = base + rows;
      // At the very last pixel of the image there is no background after it: the final run just ends.
      if (next < area) {
        if (count === out.length) out = growFlips();
        out[count++] = next;
        foreground = false;
      }
    }
  }
  return count;
}

/**
 * Encodes a binary mask as pycocotools does. `mask` is row-major (`y * width + x`), the layout of decoded
 * video frames and of tensors, and any nonzero byte is foreground. pycocotools itself compares raw byte
 * values, so the two agree on 0/1 masks, which is all it is documented to accept.
 *
 * An instance usually covers a small part of the frame, so a cheap row-major pass first finds the
 * foreground's bounding box; the column-major pass that produces the runs then reads only inside it, and the
 * background around it becomes arithmetic on positions.
 */
export function encodeMask(mask: Uint8Array, height: number, width: number): CocoRle {
  const area = checkArea(height, width);
  if (!(mask instanceof Uint8Array)) {
    throw new TypeError('RLE mask must be a Uint8Array');
  }
  if (mask.length !== area) {
    throw new RangeError(
      `RLE mask has ${mask.length} elements but height x width is ${height} x ${width} = ${area}`,
    );
  }
  return encodePlaced({ data: mask, stride: width, x0: 0, y0: 0 }, foregroundBounds(mask, width), height, width);
}

/** A mask given as a crop of the image (`data` row-major over `width × height`, placed at x, y). */
export interface MaskCropLike {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Encodes a cropped mask as `encodeMask` would encode the same mask pasted into an image of `height × width`,
 * without making the full-image bitmap: a video frame has half a million pixels, an instance a few thousand.
 */
export function encodeMaskCrop(crop: MaskCropLike, height: number, width: number): CocoRle {
  checkArea(height, width);
  const { x, y, data } = crop;
  if (![x, y, crop.width, crop.height].every(Number.isInteger) || crop.width < 0 || crop.height < 0) {
    throw new RangeError(`RLE crop must have integer x, y and sizes >= 0, got ${x},${y} ${crop.width}x${crop.height}`);
  }
  if (data.length !== crop.width * crop.height) {
    throw new RangeError(`RLE crop of ${crop.width}x${crop.height} holds ${data.length} values`);
  }
  if (crop.width > 0 && crop.height > 0 && (x < 0 || y < 0 || x + crop.width > width || y + crop.height > height)) {
    throw new RangeError(`RLE crop ${x},${y} ${crop.width}x${crop.height} lies outside the ${width}x${height} image`);
  }
  const box = data.length > 0 ? foregroundBounds(data, crop.width) : null;
  return encodePlaced({ data, stride: crop.width, x0: x, y0: y }, box, height, width);
}

function encodePlaced(mask: Placement, box: Bounds | null, height: number, width: number): CocoRle {
  const writer = new CountsWriter();
  let previous = 0;
  if (box !== null) {
    const count = collectFlips(mask, height, width, box);
    for (let k = 0; k < count; k++) {
      const position = flips[k];
      writer.push(position - previous);
      previous = position;
    }
  }
  writer.push(height * width - previous);
  return { size: [height, width], counts: writer.finish() };
}

/**
 * Compresses uncompressed COCO runs (background first) into the counts string, as rleToString does. Runs are
 * C `uint`s in maskApi.c, so anything outside 0..2^32-1 could not have come from pycocotools.
 */
export function encodeCounts(counts: ArrayLike<number>): string {
  const writer = new CountsWriter();
  for (let i = 0; i < counts.length; i++) {
    const run = counts[i];
    if (!Number.isInteger(run) || run < 0 || run > MAX_AREA) {
      throw new RangeError(`RLE run ${i} must be an integer in 0..${MAX_AREA}, got ${String(run)}`);
    }
    writer.push(run);
  }
  return writer.finish();
}

/**
 * Expands a counts string into runs, as rleFrString does, but rejects what the C code would silently turn
 * into garbage: characters outside '0'..'o', a value cut off mid-way, and runs that come out negative.
 */
export function decodeCounts(s: string): number[] {
  if (typeof s !== 'string') {
    throw new TypeError(`RLE counts must be a string, got ${typeof s}`);
  }
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    const valueStart = p;
    let value = 0;
    let scale = 1;
    let more = true;
    while (more) {
      if (p >= s.length) {
        throw new Error(`malformed RLE counts: value at offset ${valueStart} is cut off at the end of the string`);
      }
      const code = s.charCodeAt(p);
      if (code < CHAR_MIN || code > CHAR_MAX) {
        throw new Error(
          `malformed RLE counts: character ${JSON.stringify(s[p])} at offset ${p} is outside '0'..'o'`,
        );
      }
      if (p - valueStart >= MAX_GROUPS) {
        throw new Error(`malformed RLE counts: value at offset ${valueStart} is longer than ${MAX_GROUPS} characters`);
      }
      const group = code - CHAR_MIN;
      value += (group & 0x1f) * scale;
      scale *= 32;
      more = (group & 0x20) !== 0;
      p++;
      // Sign extension: the value is the two's complement of its groups' bits, i.e. minus 2^bits.
      if (!more && (group & 0x10) !== 0) value -= scale;
    }
    const index = counts.length;
    const run = index > 2 ? value + counts[index - 2] : value;
    if (run < 0) {
      throw new Error(`malformed RLE counts: run ${index} (ending at offset ${p}) decodes to ${run}`);
    }
    counts.push(run);
  }
  return counts;
}

/**
 * The uncompressed runs of `rle`, checked against its size: pycocotools' decoder reads past or stops short
 * of the image when they disagree, so a mismatch means the RLE is corrupt.
 */
export function rleCounts(rle: CocoRle): number[] {
  const size: unknown = (rle as { size?: unknown } | null)?.size;
  if (!Array.isArray(size) || size.length !== 2) {
    throw new TypeError('RLE size must be [height, width]');
  }
  const [height, width] = size as [unknown, unknown];
  if (typeof height !== 'number' || typeof width !== 'number') {
    throw new TypeError('RLE size must be [height, width] numbers');
  }
  const area = checkArea(height, width);
  const counts = decodeCounts(rle.counts);
  let total = 0;
  for (const run of counts) total += run;
  if (total !== area) {
    throw new Error(`RLE runs sum to ${total} pixels but size ${height} x ${width} has ${area}`);
  }
  return counts;
}

/** Decodes to a row-major (`y * width + x`) mask of 0 and 1, the inverse of encodeMask. */
export function decodeMask(rle: CocoRle): Uint8Array {
  const counts = rleCounts(rle);
  const [height, width] = rle.size;
  const mask = new Uint8Array(height * width);
  let position = 0;
  for (let r = 0; r < counts.length; r++) {
    const run = counts[r];
    // Odd runs are foreground; background is already zero in a fresh array, so only foreground is visited.
    if (r % 2 === 1 && run > 0) {
      let x = Math.floor(position / height);
      let y = position - x * height;
      for (let k = 0; k < run; k++) {
        mask[y * width + x] = 1;
        if (++y === height) {
          y = 0;
          x++;
        }
      }
    }
    position += run;
  }
  return mask;
}

/** Foreground pixel count, as `pycocotools.mask.area`: the sum of the odd (foreground) runs. */
export function rleArea(rle: CocoRle): number {
  const counts = rleCounts(rle);
  let area = 0;
  for (let r = 1; r < counts.length; r += 2) area += counts[r];
  return area;
}
