import { map, type OperatorFunction } from 'rxjs';
import type { Frame } from '../video/frame';
import { blendOver, blendOverI420 } from './blend';
import { TextRenderer } from './text';

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

const HUD_STYLE = {
  text: { r: 255, g: 255, b: 255, a: 1 },
  background: { r: 0, g: 0, b: 0, a: 0.55 },
};

/** Draws a few lines of text on a dark translucent panel in the frame's top-left corner. */
export class HudPainter {
  private renderer: TextRenderer | undefined;

  constructor(private readonly options: HudOptions = {}) {}

  paint(frame: Frame, lines: readonly string[]): void {
    if (lines.length === 0) return;
    const fontSize = this.options.fontSize ?? Math.max(12, Math.round(frame.height / 30));
    if (this.renderer?.fontSize !== fontSize) this.renderer = new TextRenderer(fontSize);
    const margin = this.options.margin ?? Math.round(fontSize / 2);
    const panel = this.renderer.renderLabel(lines, { ...HUD_STYLE, padding: Math.round(fontSize * 0.4) });
    const blend = frame.format === 'rgba' ? blendOver : blendOverI420;
    blend(frame, panel, margin, margin);
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
