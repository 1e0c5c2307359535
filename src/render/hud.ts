import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { map, type OperatorFunction } from 'rxjs';
import type { Frame } from '../video/frame';
import { blendOver } from './blend';
import { ensureUiFont, UI_FONT_FAMILY } from './fonts';

export interface HudOptions {
  /** Text height in pixels; by default scaled to the frame (about 1/30 of its height). */
  fontSize?: number;
  /** Distance from the top-left corner, in pixels. */
  margin?: number;
}

/** `mm:ss.cc` (or `h:mm:ss.cc`): how people read a position in a video. */
export function formatTimestamp(seconds: number): string {
  // Round once, to hundredths, before splitting, so that 59.999 carries to 1:00.00 rather than printing 0:60.00.
  const centis = Math.round(Math.abs(seconds) * 100);
  const sign = seconds < 0 && centis > 0 ? '-' : '';
  const hours = Math.floor(centis / 360_000);
  const minutes = Math.floor((centis % 360_000) / 6000);
  const rest = ((centis % 6000) / 100).toFixed(2).padStart(5, '0');
  const mm = String(minutes).padStart(hours > 0 ? 2 : 1, '0');
  return `${sign}${hours > 0 ? `${hours}:` : ''}${mm}:${rest}`;
}

/**
 * Draws a few lines of text on a dark translucent panel in the frame's top-left corner. The panel is drawn on a
 * canvas just big enough for it and blended onto the frame's pixels.
 */
export class HudPainter {
  private context: SKRSContext2D | undefined;
  private canvasSize = { width: 0, height: 0 };

  constructor(private readonly options: HudOptions = {}) {
    ensureUiFont();
  }

  paint(frame: Frame, lines: readonly string[]): void {
    if (lines.length === 0) return;
    const fontSize = this.options.fontSize ?? Math.max(12, Math.round(frame.height / 30));
    const margin = this.options.margin ?? Math.round(fontSize / 2);
    const padding = Math.round(fontSize * 0.4);
    const lineHeight = Math.round(fontSize * 1.25);
    const measure = this.contextFor(Math.ceil(fontSize * 40), lineHeight * lines.length + 2 * padding);
    measure.font = `${fontSize}px ${UI_FONT_FAMILY}`;
    const textWidth = Math.max(...lines.map((line) => measure.measureText(line).width));
    const width = Math.min(frame.width - margin, Math.ceil(textWidth) + 2 * padding);
    const height = Math.min(frame.height - margin, lineHeight * lines.length + 2 * padding);
    if (width <= 0 || height <= 0) return;
    const context = this.contextFor(width, height);
    context.clearRect(0, 0, width, height);
    context.fillStyle = 'rgba(0, 0, 0, 0.55)';
    context.fillRect(0, 0, width, height);
    context.font = `${fontSize}px ${UI_FONT_FAMILY}`;
    context.fillStyle = '#ffffff';
    context.textBaseline = 'top';
    lines.forEach((line, i) => context.fillText(line, padding, padding + i * lineHeight + Math.round((lineHeight - fontSize) / 2)));
    const pixels = context.getImageData(0, 0, width, height).data;
    blendOver(frame.data, frame.width, frame.height, pixels, width, height, margin, margin);
  }

  private contextFor(width: number, height: number): SKRSContext2D {
    if (!this.context || this.canvasSize.width < width || this.canvasSize.height < height) {
      this.canvasSize = {
        width: Math.max(width, this.canvasSize.width),
        height: Math.max(height, this.canvasSize.height),
      };
      this.context = createCanvas(this.canvasSize.width, this.canvasSize.height).getContext('2d');
    }
    return this.context;
  }
}

/** Paint the lines `describe` returns for each item onto its frame, in place. */
export function renderHud<T extends { frame: Frame }>(
  describe: (item: T) => readonly string[],
  options: HudOptions = {},
): OperatorFunction<T, T> {
  return (source) => {
    const painter = new HudPainter(options);
    return source.pipe(
      map((item) => {
        painter.paint(item.frame, describe(item));
        return item;
      }),
    );
  };
}
