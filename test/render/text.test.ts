import { createCanvas } from '@napi-rs/canvas';
import { UI_FONT_FAMILY } from '../../src/render/fonts';
import { TextRenderer } from '../../src/render/text';

const WHITE_ON_CLEAR = { text: { r: 255, g: 255, b: 255, a: 1 }, background: { r: 0, g: 0, b: 0, a: 0 }, padding: 0 };

describe('TextRenderer', () => {
  const renderer = new TextRenderer(20);

  it('measures strings as canvas lays them out, to within kerning', () => {
    const context = createCanvas(10, 10).getContext('2d');
    context.font = `20px ${UI_FONT_FAMILY}`;
    for (const text of ['frame 1234', 'car #3 0.97', 'person #12 0.55', '0:04.00  25.0 fps']) {
      expect(Math.abs(renderer.measure(text) - context.measureText(text).width)).toBeLessThanOrEqual(2);
    }
    // Kerning pairs (AV, VA, WA) pull canvas's layout in; without them the cached layout is a little wider, never
    // narrower, so text never overflows the background sized from the measurement.
    const kerned = 'WAVE AVA';
    const canvasWidth = context.measureText(kerned).width;
    expect(renderer.measure(kerned)).toBeGreaterThanOrEqual(canvasWidth - 1);
    expect(renderer.measure(kerned)).toBeLessThanOrEqual(canvasWidth * 1.1);
  });

  it('renders the same pixels canvas does for a single glyph', () => {
    const label = renderer.renderLabel(['A'], WHITE_ON_CLEAR);
    const canvas = createCanvas(label.width, label.height);
    const context = canvas.getContext('2d');
    context.font = `20px ${UI_FONT_FAMILY}`;
    context.fillStyle = '#fff';
    context.textBaseline = 'middle';
    context.fillText('A', 0, renderer.lineHeight / 2);
    const reference = context.getImageData(0, 0, label.width, label.height).data;
    let differing = 0;
    for (let i = 3; i < reference.length; i += 4) if (Math.abs((reference[i] as number) - (label.data[i] as number)) > 8) differing++;
    expect(differing).toBe(0);
    expect(label.data.filter((_, i) => i % 4 === 3 && label.data[i] === 255).length).toBeGreaterThan(20);
  });

  it('lays out lines below each other with padding, on an exactly coloured background', () => {
    const style = { text: { r: 255, g: 255, b: 255, a: 1 }, background: { r: 10, g: 20, b: 30, a: 0.5 }, padding: 4 };
    const label = renderer.renderLabel(['ab', 'abcd'], style);
    expect(label.width).toBe(renderer.measure('abcd') + 8);
    expect(label.height).toBe(2 * renderer.lineHeight + 8);
    // The top-left corner is background only: its colour and alpha, untouched by text.
    expect(Array.from(label.data.subarray(0, 4))).toEqual([10, 20, 30, 128]);
    // Text coverage only inside the padded area: the padding rows are pure background.
    for (let x = 0; x < label.width; x++) expect(label.data[(x + 0 * label.width) * 4 + 3]).toBe(128);
    let opaque = 0;
    for (let i = 3; i < label.data.length; i += 4) if (label.data[i] === 255) opaque++;
    expect(opaque).toBeGreaterThan(30);
  });

  it('an empty label is just the padded background', () => {
    const label = renderer.renderLabel([''], { ...WHITE_ON_CLEAR, padding: 3 });
    expect([label.width, label.height]).toEqual([6, renderer.lineHeight + 6]);
    expect(label.data.every((value) => value === 0)).toBe(true);
  });
});
