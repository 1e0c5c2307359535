import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { matroskaFramePrefix, matroskaHeader, sizeBytes, TIMESTAMP_SCALE_NS } from '../../src/video/matroska';
import { tempDir, runTool } from '../support/media';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Index of `needle` in `haystack`, or -1. */
function indexOf(haystack: Uint8Array, needle: readonly number[]): number {
  return Buffer.from(haystack).indexOf(Buffer.from(needle));
}

/** An independent EBML vint decoder: length from the leading zero bits, value from the remaining bits. */
function decodeVint(bytes: Uint8Array): { length: number; value: number } {
  const first = bytes[0] as number;
  let length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
  let value = first & (0xff >> length);
  for (let i = 1; i < length; i++) value = value * 256 + (bytes[i] as number);
  return { length, value };
}

describe('sizeBytes', () => {
  test.each<[number, string]>([
    [0, '80'],
    [1, '81'],
    [126, 'fe'], // largest 1-byte size: 127 (0xff) means "unknown"
    [127, '407f'],
    [16382, '7ffe'], // largest 2-byte size
    [16383, '203fff'],
    [2 ** 21 - 2, '3ffffe'], // largest 3-byte size
    [2 ** 21 - 1, '101fffff'],
    [2 ** 28 - 2, '1ffffffe'], // largest 4-byte size
    [2 ** 28 - 1, '080fffffff'],
    [2 ** 49 - 1, '0101ffffffffffff'],
    [2 ** 53, '0120000000000000'],
  ])('%d encodes as %s', (size, expected) => {
    expect(hex(sizeBytes(size))).toBe(expected);
  });

  test('never emits the all-ones "unknown size" marker, and uses the shortest length', () => {
    for (let length = 1; length <= 4; length++) {
      const limit = 2 ** (7 * length) - 1; // all value bits set: reserved
      const below = sizeBytes(limit - 1);
      expect(below.length).toBe(length);
      expect(decodeVint(below)).toEqual({ length, value: limit - 1 });
      const at = sizeBytes(limit);
      expect(at.length).toBe(length + 1);
      expect(decodeVint(at)).toEqual({ length: length + 1, value: limit });
    }
  });

  test('round-trips through an independent decoder', () => {
    for (const size of [0, 5, 100, 200, 1000, 65535, 1_000_000, 33_554_432, 4_000_000_000]) {
      const encoded = sizeBytes(size);
      expect(decodeVint(encoded)).toEqual({ length: encoded.length, value: size });
    }
  });

  test('refuses sizes beyond 8 bytes', () => {
    expect(() => sizeBytes(2 ** 56)).toThrow(RangeError);
  });
});

describe('matroskaHeader', () => {
  test('starts with the EBML magic and declares the matroska doctype', () => {
    const header = matroskaHeader({ width: 16, height: 8 });
    expect(hex(header.subarray(0, 4))).toBe('1a45dfa3');
    // DocType (42 82), size 8, "matroska"
    expect(indexOf(header, [0x42, 0x82, 0x88, ...Buffer.from('matroska')])).toBeGreaterThan(0);
  });

  test('opens a segment of unknown size, then Info and Tracks', () => {
    const header = matroskaHeader({ width: 16, height: 8 });
    const segment = indexOf(header, [0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const info = indexOf(header, [0x15, 0x49, 0xa9, 0x66]);
    const tracks = indexOf(header, [0x16, 0x54, 0xae, 0x6b]);
    expect(segment).toBeGreaterThan(0);
    expect(info).toBe(segment + 12);
    expect(tracks).toBeGreaterThan(info);
    // TimestampScale (2A D7 B1), 2-byte payload 1000 = 0x03e8: microsecond ticks.
    expect(TIMESTAMP_SCALE_NS).toBe(1000);
    expect(indexOf(header, [0x2a, 0xd7, 0xb1, 0x82, 0x03, 0xe8])).toBeGreaterThan(info);
  });

  test('describes one raw RGBA video track with the given size', () => {
    const header = matroskaHeader({ width: 960, height: 540 });
    expect(indexOf(header, [0x86, 0x8e, ...Buffer.from('V_UNCOMPRESSED')])).toBeGreaterThan(0);
    expect(indexOf(header, [0xd7, 0x81, 0x01])).toBeGreaterThan(0); // TrackNumber 1
    expect(indexOf(header, [0x83, 0x81, 0x01])).toBeGreaterThan(0); // TrackType 1 = video
    expect(indexOf(header, [0xb0, 0x82, 0x03, 0xc0])).toBeGreaterThan(0); // PixelWidth 960
    expect(indexOf(header, [0xba, 0x82, 0x02, 0x1c])).toBeGreaterThan(0); // PixelHeight 540
    expect(indexOf(header, [0x2e, 0xb5, 0x24, 0x84, ...Buffer.from('RGBA')])).toBeGreaterThan(0); // ColourSpace
  });

  test('writes DefaultDuration in nanoseconds only when a frame duration is given', () => {
    const defaultDuration = [0x23, 0xe3, 0x83];
    expect(indexOf(matroskaHeader({ width: 16, height: 8 }), defaultDuration)).toBe(-1);
    expect(indexOf(matroskaHeader({ width: 16, height: 8, frameDuration: 0 }), defaultDuration)).toBe(-1);
    // 0.04 s = 40 000 000 ns = 0x02625a00
    const header = matroskaHeader({ width: 16, height: 8, frameDuration: 0.04 });
    expect(indexOf(header, [...defaultDuration, 0x84, 0x02, 0x62, 0x5a, 0x00])).toBeGreaterThan(0);
  });
});

describe('matroskaFramePrefix', () => {
  test('is a cluster of unknown size with the timestamp in microseconds and one keyframe block', () => {
    // 0.1 s = 100 000 µs = 0x0186a0; block = 4 header bytes + 512 pixel bytes = 516 = 0x204 → 2-byte vint 42 04.
    expect(hex(matroskaFramePrefix(0.1, 512))).toBe(
      '1f43b675' + '01ffffffffffffff' + 'e7830186a0' + 'a3' + '4204' + '81000080',
    );
  });

  test('timestamp 0 is one zero byte, and negative timestamps clamp to 0', () => {
    const zero = hex(matroskaFramePrefix(0, 4));
    expect(zero).toBe('1f43b675' + '01ffffffffffffff' + 'e78100' + 'a3' + '88' + '81000080');
    expect(hex(matroskaFramePrefix(-0.5, 4))).toBe(zero);
  });

  test('rounds to the nearest microsecond', () => {
    // 1/30 s = 33 333.33 µs → 33 333 = 0x8235
    expect(indexOf(matroskaFramePrefix(1 / 30, 4), [0xe7, 0x82, 0x82, 0x35])).toBeGreaterThan(0);
  });
});

describe('a Matroska stream as ffmpeg reads it', () => {
  const WIDTH = 16;
  const HEIGHT = 8;
  const TIMES = [0, 0.04, 0.1, 0.1333];
  // A different solid colour per frame, with a translucent alpha in one of them.
  const COLOURS: [number, number, number, number][] = [
    [200, 100, 50, 255],
    [10, 220, 30, 255],
    [0, 0, 255, 128],
    [255, 255, 255, 255],
  ];
  let file: string;
  let temp: ReturnType<typeof tempDir>;

  beforeAll(() => {
    temp = tempDir();
    file = join(temp.path, 'frames.mkv');
    const parts: Uint8Array[] = [matroskaHeader({ width: WIDTH, height: HEIGHT })];
    TIMES.forEach((time, i) => {
      const pixels = new Uint8Array(WIDTH * HEIGHT * 4);
      for (let p = 0; p < pixels.length; p += 4) pixels.set(COLOURS[i] as number[], p);
      parts.push(matroskaFramePrefix(time, pixels.length), pixels);
    });
    writeFileSync(file, Buffer.concat(parts));
  });

  afterAll(() => temp.remove());

  test('ffprobe sees every frame with its exact timestamp and size', async () => {
    const result = await runTool('ffprobe', [
      '-v', 'error',
      '-print_format', 'json',
      '-show_frames',
      '-show_entries', 'frame=pts_time,width,height',
      file,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const frames = (JSON.parse(result.stdout.toString('utf8')) as { frames: { pts_time: string; width: number; height: number }[] }).frames;
    expect(frames).toHaveLength(TIMES.length);
    frames.forEach((frame, i) => {
      expect(Number(frame.pts_time)).toBeCloseTo(TIMES[i] as number, 6);
      expect(frame.width).toBe(WIDTH);
      expect(frame.height).toBe(HEIGHT);
    });
  });

  test('ffmpeg decodes the pixels back unchanged, alpha included', async () => {
    const result = await runTool('ffmpeg', [
      '-v', 'error',
      '-i', file,
      '-vsync', '0',
      '-f', 'rawvideo',
      '-pix_fmt', 'rgba',
      'pipe:1',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const frameBytes = WIDTH * HEIGHT * 4;
    expect(result.stdout.length).toBe(frameBytes * TIMES.length);
    COLOURS.forEach((colour, i) => {
      const frame = result.stdout.subarray(i * frameBytes, (i + 1) * frameBytes);
      for (let p = 0; p < frameBytes; p += 4) {
        if (![0, 1, 2, 3].every((c) => frame[p + c] === colour[c])) {
          throw new Error(`frame ${i} pixel ${p / 4}: got ${[...frame.subarray(p, p + 4)]}, want ${colour}`);
        }
      }
    });
  });

  test('the same bytes piped to stdin (not seekable) keep their timestamps', async () => {
    const bytes = readFileSync(file);
    const result = await runTool(
      'ffprobe',
      ['-v', 'error', '-print_format', 'json', '-show_entries', 'frame=pts_time', '-show_frames', '-f', 'matroska', '-i', 'pipe:0'],
      bytes,
    );
    expect(result.code).toBe(0);
    const frames = (JSON.parse(result.stdout.toString('utf8')) as { frames: { pts_time: string }[] }).frames;
    expect(frames.map((frame) => Number(frame.pts_time))).toEqual(TIMES);
  });

  test('a nominal frame duration gives ffprobe the frame rate', async () => {
    const constant = join(temp.path, 'constant.mkv');
    const pixels = new Uint8Array(WIDTH * HEIGHT * 4).fill(77);
    const parts: Uint8Array[] = [matroskaHeader({ width: WIDTH, height: HEIGHT, frameDuration: 0.04 })];
    for (let i = 0; i < 5; i++) parts.push(matroskaFramePrefix(i * 0.04, pixels.length), pixels);
    writeFileSync(constant, Buffer.concat(parts));
    const result = await runTool('ffprobe', [
      '-v', 'error', '-print_format', 'json', '-show_streams', '-select_streams', 'v:0', constant,
    ]);
    expect(result.code).toBe(0);
    const stream = (JSON.parse(result.stdout.toString('utf8')) as { streams: { r_frame_rate: string; width: number }[] })
      .streams[0];
    expect(stream?.r_frame_rate).toBe('25/1');
    expect(stream?.width).toBe(WIDTH);
  });
});
