import { blendMaskOver, blendMaskOverI420, blendOver, blendOverI420, type MaskOverlay, type RgbaImage } from '../../src/render/blend';
import { InstancePainter, paletteColor, PALETTE, type DrawableInstance } from '../../src/render/instances';
import { i420Layout } from '../../src/video/frame';
import { seededRandom } from '../support/random';

const WIDTH = 100;
const HEIGHT = 80;

function square(x: number, y: number, size: number): DrawableInstance['mask'] {
  return { x, y, width: size, height: size, data: new Uint8Array(size * size).fill(1) };
}

const RED: readonly [number, number, number] = [230, 25, 75];
const car: DrawableInstance = { box: [10, 30, 40, 60], mask: square(10, 30, 30), color: RED, label: 'car #3 0.97' };

describe('InstancePainter', () => {
  it('on RGBA: fills the mask translucently, outlines it, leaves the rest of the frame alone', () => {
    const data = new Uint8Array(WIDTH * HEIGHT * 4);
    for (let i = 0; i < data.length; i += 4) data.set([100, 100, 100, 255], i);
    new InstancePainter().paint({ width: WIDTH, height: HEIGHT, data }, [car]);
    const pixel = (x: number, y: number): number[] => Array.from(data.subarray((y * WIDTH + x) * 4, (y * WIDTH + x) * 4 + 4));
    // Interior, away from the label tab: 45% of the instance colour over grey (alpha 115/255).
    const [r, g, b] = pixel(25, 50) as [number, number, number];
    expect(r).toBeCloseTo(100 + (230 - 100) * (115 / 255), -0.5);
    expect(g).toBeCloseTo(100 + (25 - 100) * (115 / 255), -0.5);
    expect(b).toBeCloseTo(100 + (75 - 100) * (115 / 255), -0.5);
    // The mask's last row is its outline: the colour itself.
    expect(pixel(25, 59).slice(0, 3)).toEqual([...RED]);
    // Far from the instance, untouched.
    expect(pixel(5, 5)).toEqual([100, 100, 100, 255]);
    expect(pixel(60, 70)).toEqual([100, 100, 100, 255]);
    // The caption sits on a tab above the box, in the instance colour (85% opaque) with white text.
    let tab = 0;
    let text = 0;
    for (let y = 30 - 20; y < 30; y++) {
      for (let x = 10; x < 40; x++) {
        const [pr, pg, pb] = pixel(x, y) as [number, number, number];
        if (pr > 190 && pg < 60) tab++;
        if (pr > 220 && pg > 200 && pb > 200) text++;
      }
    }
    expect(tab).toBeGreaterThan(100);
    expect(text).toBeGreaterThan(10);
  });

  it('on yuv420p: the same drawing in luma and chroma, nothing outside', () => {
    const chroma = Math.ceil(WIDTH / 2) * Math.ceil(HEIGHT / 2);
    const data = new Uint8Array(WIDTH * HEIGHT + 2 * chroma).fill(128);
    new InstancePainter().paint({ width: WIDTH, height: HEIGHT, data }, [car], 'yuv420p');
    const luma = (x: number, y: number): number => data[y * WIDTH + x] as number;
    const v = (x: number, y: number): number => data[WIDTH * HEIGHT + chroma + (y >> 1) * (WIDTH / 2) + (x >> 1)] as number;
    // Red has less luma than mid grey and a strong red-difference component.
    expect(luma(25, 50)).toBeLessThan(128);
    expect(v(25, 50)).toBeGreaterThan(150);
    expect(luma(95, 75)).toBe(128);
    expect(v(95, 75)).toBe(128);
  });

  it('picks colours from the palette by index, wrapping both ways', () => {
    expect(paletteColor(0)).toEqual(PALETTE[0]);
    expect(paletteColor(PALETTE.length + 2)).toEqual(PALETTE[2]);
    expect(paletteColor(-1)).toEqual(PALETTE[PALETTE.length - 1]);
  });
});

describe('blendMaskOver / blendMaskOverI420', () => {
  /** The straightforward way: an RGBA image of the mask (outline opaque, inside `fill`), composited as any overlay. */
  function overlayOf(mask: MaskOverlay): RgbaImage {
    const { width, height, data } = mask;
    const out = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!data[i]) continue;
        const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 || !data[i - 1] || !data[i + 1] || !data[i - width] || !data[i + width];
        out.set([...mask.color, edge ? mask.edge : mask.fill], i * 4);
      }
    }
    return { width, height, data: out };
  }

  test('paint exactly what compositing the mask as an RGBA overlay paints, on both pixel formats, clipped at the borders', () => {
    const random = seededRandom(5);
    const [width, height] = [37, 23];
    for (let trial = 0; trial < 40; trial++) {
      const w = 1 + Math.floor(random() * 20);
      const h = 1 + Math.floor(random() * 20);
      const mask: MaskOverlay = {
        x: Math.floor(random() * (width + 10)) - 8,
        y: Math.floor(random() * (height + 10)) - 8,
        width: w,
        height: h,
        data: Uint8Array.from({ length: w * h }, () => (random() < 0.7 ? 1 : 0)),
        color: [Math.floor(random() * 256), Math.floor(random() * 256), Math.floor(random() * 256)],
        fill: Math.floor(random() * 256),
        edge: 255,
      };
      const start = Uint8Array.from({ length: width * height * 4 }, () => Math.floor(random() * 256));
      const rgbaDirect = { width, height, data: Uint8Array.from(start) };
      const rgbaReference = { width, height, data: Uint8Array.from(start) };
      blendMaskOver(rgbaDirect, mask);
      blendOver(rgbaReference, overlayOf(mask), mask.x, mask.y);
      expect(rgbaDirect.data).toEqual(rgbaReference.data);
      const yuvStart = start.subarray(0, i420Layout(width, height).byteLength);
      const yuvDirect = { width, height, data: Uint8Array.from(yuvStart) };
      const yuvReference = { width, height, data: Uint8Array.from(yuvStart) };
      blendMaskOverI420(yuvDirect, mask);
      blendOverI420(yuvReference, overlayOf(mask), mask.x, mask.y);
      expect(yuvDirect.data).toEqual(yuvReference.data);
    }
  });
});
