import { createCanvas } from '@napi-rs/canvas';
import type { RgbaImage } from './blend';
import { ensureUiFont, UI_FONT_FAMILY } from './fonts';

/** One character rendered once: its coverage (alpha) in a cell one line high, and how far it advances the pen. */
interface Glyph {
  advance: number;
  /** Coverage cell: `cellWidth` x line height, drawn with the pen at `GLYPH_PAD`. */
  coverage: Uint8Array;
  cellWidth: number;
}

/** Room left of the pen and right of the advance for glyphs that overhang their advance (j, f, italics). */
const GLYPH_PAD = 2;

export interface Rgba {
  r: number;
  g: number;
  b: number;
  /** 0..1 */
  a: number;
}

export interface LabelStyle {
  text: Rgba;
  background: Rgba;
  /** Pixels between the text and the edge of its background. */
  padding: number;
}


/** The straight-alpha colour of text over background for each of the 256 coverage levels. */
function compositePalette(text: Rgba, background: Rgba): Uint8ClampedArray {
  const palette = new Uint8ClampedArray(256 * 4);
  for (let level = 0; level < 256; level++) {
    const textAlpha = (level / 255) * text.a;
    const alpha = textAlpha + background.a * (1 - textAlpha);
    if (alpha === 0) continue;
    const backgroundShare = (background.a * (1 - textAlpha)) / alpha;
    const textShare = textAlpha / alpha;
    palette[level * 4] = text.r * textShare + background.r * backgroundShare;
    palette[level * 4 + 1] = text.g * textShare + background.g * backgroundShare;
    palette[level * 4 + 2] = text.b * textShare + background.b * backgroundShare;
    palette[level * 4 + 3] = alpha * 255;
  }
  return palette;
}

/**
 * Text drawn from a cache of glyphs rendered once per character with the bundled UI font. Labels and HUD lines
 * change every frame, but their characters do not: composing cached coverage is a few hundred times cheaper than
 * asking canvas to lay out and rasterize each string and reading the pixels back. Kerning is not applied, which
 * is invisible at label sizes.
 */
export class TextRenderer {
  readonly lineHeight: number;
  private readonly glyphs = new Map<string, Glyph>();
  private readonly context;

  constructor(readonly fontSize: number) {
    ensureUiFont();
    this.lineHeight = Math.ceil(fontSize * 1.25);
    this.context = createCanvas(Math.ceil(fontSize * 3) + 2 * GLYPH_PAD, this.lineHeight).getContext('2d');
    this.context.font = `${fontSize}px ${UI_FONT_FAMILY}`;
    this.context.textBaseline = 'middle';
    this.context.fillStyle = '#ffffff';
  }

  private glyph(char: string): Glyph {
    const cached = this.glyphs.get(char);
    if (cached) return cached;
    const advance = this.context.measureText(char).width;
    const cellWidth = Math.ceil(advance) + 2 * GLYPH_PAD;
    this.context.clearRect(0, 0, this.context.canvas.width, this.lineHeight);
    this.context.fillText(char, GLYPH_PAD, this.lineHeight / 2);
    const pixels = this.context.getImageData(0, 0, cellWidth, this.lineHeight).data;
    const coverage = new Uint8Array(cellWidth * this.lineHeight);
    for (let i = 0; i < coverage.length; i++) coverage[i] = pixels[i * 4 + 3] as number;
    const glyph = { advance, coverage, cellWidth };
    this.glyphs.set(char, glyph);
    return glyph;
  }

  measure(text: string): number {
    let width = 0;
    for (const char of text) width += this.glyph(char).advance;
    return Math.ceil(width);
  }

  /** Lines of text on a filled rectangle, as an RGBA image ready to blend onto a frame. */
  renderLabel(lines: readonly string[], style: LabelStyle): RgbaImage {
    const width = Math.max(0, ...lines.map((line) => this.measure(line))) + 2 * style.padding;
    const height = this.lineHeight * lines.length + 2 * style.padding;
    const coverage = new Uint8Array(width * height);
    lines.forEach((line, row) => {
      let pen = style.padding;
      const top = style.padding + row * this.lineHeight;
      for (const char of line) {
        const glyph = this.glyph(char);
        const left = Math.round(pen) - GLYPH_PAD;
        for (let y = 0; y < this.lineHeight; y++) {
          for (let x = 0; x < glyph.cellWidth; x++) {
            const tx = left + x;
            if (tx < 0 || tx >= width) continue;
            const value = glyph.coverage[y * glyph.cellWidth + x] as number;
            const index = (top + y) * width + tx;
            // Neighbouring glyphs may overlap by their padding: keep the stronger coverage.
            if (value > (coverage[index] as number)) coverage[index] = value;
          }
        }
        pen += glyph.advance;
      }
    });
    const palette = compositePalette(style.text, style.background);
    const data = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < coverage.length; i++) {
      const entry = (coverage[i] as number) * 4;
      data[i * 4] = palette[entry] as number;
      data[i * 4 + 1] = palette[entry + 1] as number;
      data[i * 4 + 2] = palette[entry + 2] as number;
      data[i * 4 + 3] = palette[entry + 3] as number;
    }
    return { width, height, data };
  }
}
