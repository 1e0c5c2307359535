import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { blendOver, blendOverI420 } from '../../src/render/blend';
import { ensureUiFont, UI_FONT_FAMILY } from '../../src/render/fonts';
import { formatTimestamp, HudPainter } from '../../src/render/hud';
import type { Frame } from '../../src/video/frame';

function solid(width: number, height: number, rgba: readonly number[]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < data.length; p += 4) data.set(rgba, p);
  return data;
}

function pixel(data: Uint8Array, width: number, x: number, y: number): number[] {
  const i = (y * width + x) * 4;
  return [...data.subarray(i, i + 4)];
}

describe('blendOver', () => {
  test('alpha 0 leaves the frame alone, alpha 255 replaces colour but not the frame alpha', () => {
    const frame = solid(2, 1, [10, 20, 30, 255]);
    const overlay = Uint8Array.of(200, 100, 50, 0, 200, 100, 50, 255);
    blendOver({ data: frame, width: 2, height: 1 }, { data: overlay, width: 2, height: 1 }, 0, 0);
    expect([...frame]).toEqual([10, 20, 30, 255, 200, 100, 50, 255]);
  });

  test('alpha 128 mixes by hand-computed rounding', () => {
    // (200*128 + 100*127) / 255 = 150.196 → 150;  (0*128 + 50*127) / 255 = 24.90 → 25;  (255*128 + 0) / 255 = 128
    const frame = solid(1, 1, [100, 50, 0, 255]);
    blendOver({ data: frame, width: 1, height: 1 }, { data: Uint8Array.of(200, 0, 255, 128), width: 1, height: 1 }, 0, 0);
    expect([...frame]).toEqual([150, 25, 128, 255]);
  });

  test('alpha 1 and 254 round to nearest as well', () => {
    // alpha 1:   (255*1 + 0*254)/255 = 1;  (0*1 + 255*254)/255 = 254;  (100*1 + 101*254)/255 = 100.996 → 101
    // alpha 254: (255*254 + 0*1)/255 = 254 on every channel
    const frame = Uint8Array.of(0, 255, 101, 255, 0, 0, 0, 255);
    const overlay = Uint8Array.of(255, 0, 100, 1, 255, 255, 255, 254);
    blendOver({ data: frame, width: 2, height: 1 }, { data: overlay, width: 2, height: 1 }, 0, 0);
    expect([...frame]).toEqual([1, 254, 101, 255, 254, 254, 254, 255]);
  });

  test('every alpha and channel value equals round((o*a + f*(255-a)) / 255)', () => {
    // One 256x256 frame per alpha: x is the overlay value, y the frame value.
    const size = 256;
    const overlay = new Uint8ClampedArray(size * size * 4);
    const original = new Uint8Array(size * size * 4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = (y * size + x) * 4;
        overlay[i] = x;
        original[i] = y;
        original[i + 3] = 255;
      }
    }
    let mismatches = 0;
    for (let alpha = 0; alpha < 256; alpha++) {
      for (let i = 3; i < overlay.length; i += 4) overlay[i] = alpha;
      const frame = original.slice();
      blendOver({ data: frame, width: size, height: size }, { data: overlay, width: size, height: size }, 0, 0);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const want = Math.round((x * alpha + y * (255 - alpha)) / 255);
          if (frame[(y * size + x) * 4] !== want) mismatches++;
        }
      }
    }
    expect(mismatches).toBe(0);
  });

  describe('clipping', () => {
    // A 4x3 frame of zeros, and a 3x2 opaque overlay whose pixel (x, y) has red = 10*(y+1) + x + 1.
    const overlay = new Uint8Array(3 * 2 * 4);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) overlay.set([10 * (y + 1) + x + 1, 0, 0, 255], (y * 3 + x) * 4);
    const reds = (frame: Uint8Array): number[][] =>
      [0, 1, 2].map((y) => [0, 1, 2, 3].map((x) => frame[(y * 4 + x) * 4] as number));

    test.each<[string, number, number, number[][]]>([
      ['inside', 1, 1, [[0, 0, 0, 0], [0, 11, 12, 13], [0, 21, 22, 23]]],
      ['negative offsets', -1, -1, [[22, 23, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]],
      ['past the right and bottom edges', 3, 2, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 11]]],
      ['left edge only', -2, 0, [[13, 0, 0, 0], [23, 0, 0, 0], [0, 0, 0, 0]]],
      ['right edge, no wrap to the next row', 2, 0, [[0, 0, 11, 12], [0, 0, 21, 22], [0, 0, 0, 0]]],
      ['entirely left', -3, 0, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]],
      ['entirely below', 0, 3, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]],
      ['entirely right', 4, 0, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]],
    ])('%s (%d, %d)', (_name, left, top, expected) => {
      const frame = new Uint8Array(4 * 3 * 4);
      blendOver({ data: frame, width: 4, height: 3 }, { data: overlay, width: 3, height: 2 }, left, top);
      expect(reds(frame)).toEqual(expected);
    });

    test('a frame that is a view into a larger buffer is not written outside', () => {
      const backing = new Uint8Array(4 * 3 * 4 + 16).fill(7);
      const frame = backing.subarray(8, 8 + 4 * 3 * 4);
      frame.fill(0);
      blendOver({ data: frame, width: 4, height: 3 }, { data: overlay, width: 3, height: 2 }, 2, 2);
      expect([...backing.subarray(0, 8)]).toEqual(Array(8).fill(7));
      expect([...backing.subarray(8 + 48)]).toEqual(Array(8).fill(7));
    });
  });
});

describe('formatTimestamp', () => {
  test.each<[number, string]>([
    [0, '0:00.00'],
    [1.5, '0:01.50'],
    [9.04, '0:09.04'],
    [61.25, '1:01.25'],
    [599.99, '9:59.99'],
    [600, '10:00.00'],
    [3600, '1:00:00.00'],
    [3661.5, '1:01:01.50'],
    [36_000 + 125.07, '10:02:05.07'],
    [-1.5, '-0:01.50'],
    [-0.001, '0:00.00'], // rounds to zero: no sign
    // Rounding to hundredths must carry into the minutes, never print ":60.00".
    [59.999, '1:00.00'],
    [59.9966, '1:00.00'],
    [3599.996, '1:00:00.00'],
  ])('%p → %s', (seconds, expected) => {
    expect(formatTimestamp(seconds)).toBe(expected);
  });
});

describe('HudPainter', () => {
  const WIDTH = 320;
  const HEIGHT = 180;
  const GREY = [128, 128, 128, 255];

  function greyFrame(): Frame {
    return { index: 0, pts: 0, width: WIDTH, height: HEIGHT, format: 'rgba', data: solid(WIDTH, HEIGHT, GREY), release: () => undefined };
  }

  test('the UI font is the bundled DejaVu Sans Bold, not a system fallback', () => {
    ensureUiFont();
    const file = join(__dirname, '..', '..', 'node_modules', 'dejavu-fonts-ttf', 'ttf', 'DejaVuSans-Bold.ttf');
    expect(existsSync(file)).toBe(true);
    expect(GlobalFonts.has(UI_FONT_FAMILY)).toBe(true);
    // The same file under a name of our own must measure text exactly as the UI family does; a missing family
    // falls back to some other font, whose widths differ.
    expect(GlobalFonts.registerFromPath(file, 'render-test-dejavu-bold')).toBeTruthy();
    const context = createCanvas(10, 10).getContext('2d');
    const width = (family: string): number => {
      context.font = `100px ${family}`;
      return context.measureText('MMMM iiii 0123').width;
    };
    expect(width(UI_FONT_FAMILY)).toBe(width('render-test-dejavu-bold'));
    expect(width(UI_FONT_FAMILY)).not.toBe(width('render-test-no-such-family'));
  });

  test('paints a dark panel with white text in the top-left corner and touches nothing else', () => {
    const frame = greyFrame();
    new HudPainter().paint(frame, ['00:01.23  25.0 fps', 'frame 42']);
    const data = frame.data;

    // Default geometry for a 180-pixel frame: 12 px text, 6 px margin, panel of 2 lines of 15 px + 2 * 5 px padding.
    const margin = 6;
    const panelBottom = margin + 2 * 15 + 2 * 5;

    // Find the panel's extent along its top row: every changed pixel must lie inside [margin, right) x [margin, bottom).
    let right = margin;
    let changedOutside = 0;
    let alphaChanged = 0;
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const [r, g, b, a] = pixel(data, WIDTH, x, y);
        if (a !== 255) alphaChanged++;
        const changed = r !== 128 || g !== 128 || b !== 128;
        if (!changed) continue;
        if (x < margin || y < margin || y >= panelBottom) changedOutside++;
        else right = Math.max(right, x + 1);
      }
    }
    expect(changedOutside).toBe(0);
    expect(alphaChanged).toBe(0);
    // The panel is as wide as the text (a few dozen pixels at least), and the frame's right side is untouched.
    expect(right).toBeGreaterThan(margin + 60);
    expect(right).toBeLessThan(WIDTH - 40);

    // Panel background: 55% black over grey → 128 * 0.45 ≈ 58.
    expect(pixel(data, WIDTH, margin, margin)[0]).toBeGreaterThanOrEqual(55);
    expect(pixel(data, WIDTH, margin, margin)[0]).toBeLessThanOrEqual(60);
    expect(pixel(data, WIDTH, margin - 1, margin - 1)).toEqual(GREY);
    expect(pixel(data, WIDTH, margin, panelBottom)).toEqual(GREY);

    let sum = 0;
    let count = 0;
    let nearWhite = 0;
    for (let y = margin; y < panelBottom; y++) {
      for (let x = margin; x < right; x++) {
        const [r, g, b] = pixel(data, WIDTH, x, y) as [number, number, number];
        sum += (r + g + b) / 3;
        count++;
        if (r > 230 && g > 230 && b > 230) nearWhite++;
      }
    }
    expect(sum / count).toBeLessThan(110);
    expect(nearWhite).toBeGreaterThan(30);
  });

  test('no lines, no paint', () => {
    const frame = greyFrame();
    new HudPainter().paint(frame, []);
    expect(Buffer.from(frame.data).equals(Buffer.from(solid(WIDTH, HEIGHT, GREY)))).toBe(true);
  });

  test('a second, shorter paint on a fresh frame draws a narrower panel', () => {
    const painter = new HudPainter();
    const extent = (lines: string[]): number => {
      const frame = greyFrame();
      painter.paint(frame, lines);
      let right = 0;
      for (let x = 0; x < WIDTH; x++) if (pixel(frame.data, WIDTH, x, 10)[0] !== 128) right = x + 1;
      return right;
    };
    const wide = extent(['a rather long line of HUD text']);
    const narrow = extent(['short']);
    expect(narrow).toBeGreaterThan(0);
    expect(narrow).toBeLessThan(wide);
  });
});

describe('blendOverI420', () => {
  /** A w x h yuv420p frame with every sample of each plane set to one value. */
  function planes(w: number, h: number, y: number, u: number, v: number): Uint8Array {
    const cw = Math.ceil(w / 2);
    const ch = Math.ceil(h / 2);
    const data = new Uint8Array(w * h + 2 * cw * ch);
    data.fill(y, 0, w * h);
    data.fill(u, w * h, w * h + cw * ch);
    data.fill(v, w * h + cw * ch);
    return data;
  }

  test('an opaque red block becomes BT.601 limited-range red in all three planes', () => {
    const frame = planes(4, 4, 50, 60, 70);
    const red = solid(2, 2, [255, 0, 0, 255]);
    blendOverI420({ data: frame, width: 4, height: 4 }, { data: red, width: 2, height: 2 }, 2, 0);
    // 8-bit BT.601: Y = ((66·255 + 128) >> 8) + 16 = 82, Cb = ((−38·255 + 128) >> 8) + 128 = 90, Cr = 112 + 128 = 240.
    expect(Array.from(frame.subarray(0, 16))).toEqual([50, 50, 82, 82, 50, 50, 82, 82, 50, 50, 50, 50, 50, 50, 50, 50]);
    expect(Array.from(frame.subarray(16, 20))).toEqual([60, 90, 60, 60]);
    expect(Array.from(frame.subarray(20, 24))).toEqual([70, 240, 70, 70]);
  });

  test('half-covered chroma blocks mix with the covered share, transparent pixels change nothing', () => {
    const frame = planes(4, 2, 100, 128, 128);
    // One opaque white pixel at (1, 0): luma there becomes 235, its chroma block is 1/4 covered by neutral white.
    const overlay = new Uint8Array(2 * 1 * 4);
    overlay.set([255, 255, 255, 255, 9, 9, 9, 0]);
    blendOverI420({ data: frame, width: 4, height: 2 }, { data: overlay, width: 2, height: 1 }, 1, 0);
    expect(Array.from(frame.subarray(0, 8))).toEqual([100, 235, 100, 100, 100, 100, 100, 100]);
    expect(Array.from(frame.subarray(8, 12))).toEqual([128, 128, 128, 128]);
  });

  test('a half-transparent black pixel halves luma, clipped at the frame edge', () => {
    const frame = planes(2, 2, 200, 128, 128);
    const overlay = solid(2, 2, [0, 0, 0, 128]);
    blendOverI420({ data: frame, width: 2, height: 2 }, { data: overlay, width: 2, height: 2 }, 1, 1);
    // 16 * 128/255 + 200 * 127/255 = 8.03 + 99.6 = 107.6 -> 108, only at (1, 1).
    expect(Array.from(frame.subarray(0, 4))).toEqual([200, 200, 200, 108]);
  });
});

describe('HudPainter on yuv420p frames', () => {
  test('darkens a panel in the corner, draws bright text, leaves the rest alone', () => {
    const width = 320;
    const height = 180;
    const data = new Uint8Array(width * height * 1.5).fill(128);
    const frame: Frame = { index: 0, pts: 0, width, height, format: 'yuv420p', data, release: () => undefined };
    new HudPainter().paint(frame, ['frame 42  0:01.68  25.0 fps']);
    const luma = data.subarray(0, width * height);
    let bright = 0;
    let darkened = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const value = luma[y * width + x] as number;
        if (y >= 40 || x < 6 || y < 6) expect(value).toBe(128);
        if (value > 200) bright++;
        if (value < 100) darkened++;
      }
    }
    expect(bright).toBeGreaterThan(30);
    expect(darkened).toBeGreaterThan(500);
    // Black, white and grey carry no colour: chroma stays neutral within rounding.
    for (const sample of data.subarray(width * height)) expect(Math.abs(sample - 128)).toBeLessThanOrEqual(1);
  });
});
