/**
 * Who owns each pixel. Objects are rasterized far to near into one buffer of owner codes, each overwriting what it
 * hides, so what is left of an instance at the end is exactly its visible part: masks of different instances are
 * disjoint by construction, and whatever hides an object (a nearer car, a pole, a tree) is cut out of its mask.
 */
import type { BinaryMask } from '../track/mask-iou';
import { emptyBounds, fillPolygon, type PixelBounds } from './raster';

/** The code of pixels hidden by something that is no instance (poles, trees, buildings). */
export const OCCLUDER = 0xffff;
/** Instance codes run from 1 to this. */
export const MAX_INSTANCES = 0xfffe;

export interface VisibleMask {
  mask: BinaryMask;
  area: number;
  /** x1, y1, x2, y2 with exclusive right and bottom edges: the mask's pixel bounds. */
  box: [number, number, number, number];
}

export class OcclusionBuffer {
  readonly owner: Uint16Array;
  private readonly painted = new Map<number, PixelBounds>();

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.owner = new Uint16Array(width * height);
  }

  clear(): void {
    this.owner.fill(0);
    this.painted.clear();
  }

  /** Rasterizes one polygon as owned by `code` (an instance code, or OCCLUDER), over whatever was there. */
  fill(code: number, polygon: readonly number[]): void {
    let bounds = this.painted.get(code);
    if (!bounds) {
      bounds = emptyBounds();
      this.painted.set(code, bounds);
    }
    fillPolygon(this.owner, this.width, this.height, polygon, code, bounds);
  }

  /** The visible part of instance `code`, cropped to its bounds; null when nothing of it is left. */
  visible(code: number): VisibleMask | null {
    const bounds = this.painted.get(code);
    if (!bounds || bounds.x0 > bounds.x1) return null;
    const { owner, width } = this;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -1;
    let y1 = -1;
    let area = 0;
    for (let y = bounds.y0; y <= bounds.y1; y++) {
      const row = y * width;
      for (let x = bounds.x0; x <= bounds.x1; x++) {
        if (owner[row + x] !== code) continue;
        area++;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    if (area === 0) return null;
    const cropWidth = x1 - x0 + 1;
    const cropHeight = y1 - y0 + 1;
    const data = new Uint8Array(cropWidth * cropHeight);
    for (let y = y0; y <= y1; y++) {
      const row = y * width;
      const out = (y - y0) * cropWidth - x0;
      for (let x = x0; x <= x1; x++) if (owner[row + x] === code) data[out + x] = 1;
    }
    return { mask: { x: x0, y: y0, width: cropWidth, height: cropHeight, data }, area, box: [x0, y0, x1 + 1, y1 + 1] };
  }
}
