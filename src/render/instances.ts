import { map, type OperatorFunction } from 'rxjs';
import type { Frame, PixelFormat } from '../video/frame';
import { blendMaskOver, blendMaskOverI420, blendOver, blendOverI420, type FramePixels, type RgbaImage } from './blend';
import { TextRenderer, type Rgba } from './text';

/** What drawing an instance needs: where it is, its pixels, its colour and its caption. Nothing about models. */
export interface DrawableInstance {
  box: readonly [number, number, number, number];
  /** Binary mask cropped to a rectangle of the image, as the model's paste step produces it. */
  mask?: { x: number; y: number; width: number; height: number; data: Uint8Array };
  color: readonly [number, number, number];
  label: string;
}

/** Distinct, saturated colours that read on road scenes (no road greys); picked by class or track id. */
export const PALETTE: readonly (readonly [number, number, number])[] = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
  [240, 50, 230], [210, 245, 60], [250, 190, 190], [0, 128, 128], [230, 190, 255], [170, 110, 40], [128, 0, 0],
  [170, 255, 195], [128, 128, 0], [255, 215, 180], [0, 0, 128],
];

export type Palette = readonly (readonly [number, number, number])[];

export function paletteColor(index: number, palette: Palette = PALETTE): readonly [number, number, number] {
  return palette[((index % palette.length) + palette.length) % palette.length] as readonly [number, number, number];
}

/** An instance as the model or the tracker reports it. */
export interface LabelledInstance {
  /** Track id, or null for detections no tracker has seen. */
  readonly id: number | null;
  readonly classId: number;
  readonly label: string;
  readonly score: number;
  readonly box: readonly [number, number, number, number];
  readonly mask?: DrawableInstance['mask'];
}

/**
 * Colour by track id, so an object keeps its colour as long as it keeps its id (by class for untracked
 * detections), and the caption `car #3 0.97`.
 */
export function drawableInstance(instance: LabelledInstance, palette: Palette = PALETTE): DrawableInstance {
  const score = instance.score.toFixed(2);
  return {
    box: instance.box,
    ...(instance.mask ? { mask: instance.mask } : {}),
    color: paletteColor(instance.id ?? instance.classId, palette),
    label: instance.id !== null ? `${instance.label} #${instance.id} ${score}` : `${instance.label} ${score}`,
  };
}

/** Draws each item's instances on its frame, in place. */
export function renderInstances<T extends { frame: Frame; instances: readonly LabelledInstance[] }>(
  style?: Readonly<InstanceStyle>,
): OperatorFunction<T, T> {
  return (source) => {
    const painter = new InstancePainter(style);
    return source.pipe(
      map((item) => {
        const palette = style?.palette ?? PALETTE;
        if (item.instances.length > 0) painter.paint(item.frame, item.instances.map((i) => drawableInstance(i, palette)), item.frame.format);
        return item;
      }),
    );
  };
}

/** Composite an overlay onto the frame being painted, at (left, top). */
type Blend = (overlay: RgbaImage, left: number, top: number) => void;

export interface InstanceStyle {
  /** Opacity of the mask fill, 0..1. */
  maskOpacity: number;
  /** Box outline width in pixels. */
  lineWidth: number;
  fontSize: number;
  /** Colours by track id (class id for untracked detections). */
  palette: Palette;
}

export const INSTANCE_STYLE: Readonly<InstanceStyle> = Object.freeze({ maskOpacity: 0.45, lineWidth: 2, fontSize: 14, palette: PALETTE });

/**
 * Draws instances on a frame in place (RGBA, or yuv420p as video frames arrive): translucent masks with a solid
 * outline, box, and a caption on a colour tab. Masks are blended on the pixel buffer (a canvas path per mask would
 * dominate the frame time).
 */
export class InstancePainter {
  private readonly text: TextRenderer;

  constructor(private readonly style: Readonly<InstanceStyle> = INSTANCE_STYLE) {
    this.text = new TextRenderer(style.fontSize);
  }

  paint(frame: FramePixels, instances: readonly DrawableInstance[], format: PixelFormat = 'rgba'): void {
    const blendOnto = format === 'rgba' ? blendOver : blendOverI420;
    const blend = (overlay: RgbaImage, left: number, top: number): void => blendOnto(frame, overlay, left, top);
    // Lowest-scoring first, so the best instance ends up on top.
    for (const instance of [...instances].reverse()) this.paintMask(frame, format, instance);
    for (const instance of [...instances].reverse()) {
      this.paintBox(blend, instance);
      this.paintLabel(blend, instance);
    }
  }

  private paintMask(frame: FramePixels, format: PixelFormat, instance: DrawableInstance): void {
    const { mask } = instance;
    if (!mask || mask.width === 0 || mask.height === 0) return;
    const overlay = { ...mask, color: instance.color, fill: Math.round(this.style.maskOpacity * 255), edge: 255 };
    if (format === 'rgba') blendMaskOver(frame, overlay);
    else blendMaskOverI420(frame, overlay);
  }

  private paintBox(blend: Blend, instance: DrawableInstance): void {
    const [x1, y1, x2, y2] = instance.box.map(Math.round) as [number, number, number, number];
    const [r, g, b] = instance.color;
    const line = this.style.lineWidth;
    const solid = (width: number, height: number): { width: number; height: number; data: Uint8ClampedArray } => {
      const data = new Uint8ClampedArray(Math.max(0, width * height * 4));
      for (let i = 0; i < data.length; i += 4) data.set([r, g, b, 255], i);
      return { width, height, data };
    };
    const horizontal = solid(x2 - x1 + line, line);
    const vertical = solid(line, y2 - y1 + line);
    blend(horizontal, x1, y1);
    blend(horizontal, x1, y2);
    blend(vertical, x1, y1);
    blend(vertical, x2, y1);
  }

  private paintLabel(blend: Blend, instance: DrawableInstance): void {
    const [r, g, b] = instance.color;
    const background: Rgba = { r, g, b, a: 0.85 };
    // Dark text on light colours, white on dark ones (relative luminance).
    const light = 0.2126 * r + 0.7152 * g + 0.0722 * b > 150;
    const textColor: Rgba = light ? { r: 0, g: 0, b: 0, a: 1 } : { r: 255, g: 255, b: 255, a: 1 };
    const tab = this.text.renderLabel([instance.label], { text: textColor, background, padding: 2 });
    const x = Math.round(instance.box[0]);
    const above = Math.round(instance.box[1]) - tab.height;
    blend(tab, x, above >= 0 ? above : Math.round(instance.box[1]));
  }
}
