import { InstancePainter, paletteColor, PALETTE, type DrawableInstance } from '../src/render/instances';

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
