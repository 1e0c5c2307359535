/**
 * What one scene object looks like on screen: its projected polygons, each with a colour and a role. The same
 * polygons are painted with canvas (antialiased) and rasterized into the occlusion buffer (pixel centres), which is
 * what keeps every mask consistent with the pixels.
 */
import { projectPlanar, projectPolygon, type Camera, type Vec3 } from './camera';
import { ellipse, planePoint, toWorld, type Outline, type Plane } from './geometry';
import { css, hazed, lit, type Lighting, type Rgb } from './lighting';

/**
 * - `mask`: belongs to the object's instance mask and hides whatever is behind it.
 * - `occluder`: hides what is behind it but belongs to no instance (a sign's pole, a tree, a wall).
 * - `decor`: painted only (shadows, light on the road); neither hides nor belongs.
 * - `outline`: not painted, but inside the object's mask, the way annotators outline an object with holes: COCO
 *   and Cityscapes draw a bicycle as one polygon, so the road seen through its wheels is the bicycle's.
 */
export type Role = 'mask' | 'occluder' | 'decor' | 'outline';

export interface Part {
  /** Screen polygon [x0, y0, x1, y1, ...]. */
  points: number[];
  fill: string;
  role: Role;
}

/** Light blooming around a lamp: drawn additively after the object's parts, never part of a mask. */
export interface Glow {
  x: number;
  y: number;
  radius: number;
  color: Rgb;
  strength: number;
}

export class Sketch {
  readonly parts: Part[] = [];
  /** Light and shadow on the road: painted with the road, before anything that stands on it. */
  readonly ground: Part[] = [];
  readonly glows: Glow[] = [];

  /**
   * @param haze share (0..1) by which this object's colours fade into the distance.
   */
  constructor(
    readonly camera: Camera,
    readonly lighting: Lighting,
    readonly haze = 0,
  ) {}

  /** Paints on a plane in the world; `shade` darkens surfaces turned from the light. */
  face(plane: Plane, shade = 1, role: Role = 'mask'): Face {
    return new Face(this, plane, shade, role);
  }

  /** The colour a camera sees for a surface of base colour `color`. */
  surface(color: Readonly<Rgb>, shade = 1): string {
    return css(hazed(this.lighting, lit(this.lighting, color, shade), this.haze));
  }

  /** A lamp's colour: lit lamps keep their brightness whatever the ambient light. */
  emissive(color: Readonly<Rgb>): string {
    return css(hazed(this.lighting, color, this.haze * 0.5));
  }

  addWorld(points: readonly Vec3[], fill: string, role: Role): void {
    this.addScreen(projectPolygon(this.camera, points), fill, role);
  }

  /** A polygon already projected; dropped when off screen or too small to change a pixel. */
  addScreen(screen: number[], fill: string, role: Role): void {
    if (screen.length < 6 || !worthDrawing(screen, this.camera)) return;
    const points = simplify(screen);
    if (points.length >= 6) this.parts.push({ points, fill, role });
  }

  /** A polygon lying on the road (a shadow, a headlight beam): decor painted before all objects. */
  addGround(points: readonly Vec3[], fill: string): void {
    const screen = projectPolygon(this.camera, points);
    if (screen.length < 6 || !worthDrawing(screen, this.camera)) return;
    this.ground.push({ points: screen, fill, role: 'decor' });
  }

  addGlow(center: Vec3, radiusMetres: number, color: Rgb, strength: number): void {
    const plane: Plane = { origin: center, u: [1, 0, 0], v: [0, 1, 0] };
    const ring = projectPolygon(this.camera, toWorld(plane, ellipse(0, 0, radiusMetres, radiusMetres, 8)));
    if (ring.length < 6 || !worthDrawing(ring, this.camera)) return;
    let x = 0;
    let y = 0;
    let minX = Infinity;
    let maxX = -Infinity;
    const n = ring.length / 2;
    for (let i = 0; i < ring.length; i += 2) {
      x += ring[i] as number;
      y += ring[i + 1] as number;
      minX = Math.min(minX, ring[i] as number);
      maxX = Math.max(maxX, ring[i] as number);
    }
    const radius = Math.max(1.5, (maxX - minX) / 2);
    this.glows.push({ x: x / n, y: y / n, radius, color, strength });
  }

  /** Screen bounds of the parts with the given roles, or null when none is on screen. */
  bounds(roles: readonly Role[] = ['mask']): [number, number, number, number] | null {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const part of this.parts) {
      if (!roles.includes(part.role)) continue;
      const p = part.points;
      for (let i = 0; i < p.length; i += 2) {
        x0 = Math.min(x0, p[i] as number);
        x1 = Math.max(x1, p[i] as number);
        y0 = Math.min(y0, p[i + 1] as number);
        y1 = Math.max(y1, p[i + 1] as number);
      }
    }
    return x0 <= x1 ? [x0, y0, x1, y1] : null;
  }
}

/** Consecutive vertices closer than this (pixels) are merged: a wheel 3 pixels wide needs no 22 corners. */
const MERGE = 0.4;

/** Drops vertices within MERGE of the last one kept: fewer canvas calls, no visible change. */
function simplify(points: number[]): number[] {
  const out: number[] = [points[0] as number, points[1] as number];
  let lastX = points[0] as number;
  let lastY = points[1] as number;
  for (let i = 2; i < points.length; i += 2) {
    const x = points[i] as number;
    const y = points[i + 1] as number;
    if (Math.abs(x - lastX) < MERGE && Math.abs(y - lastY) < MERGE) continue;
    out.push(x, y);
    lastX = x;
    lastY = y;
  }
  return out.length === points.length ? points : out;
}

/** Parts smaller than this (pixels, both ways) would neither show nor cover a pixel centre: skipped. */
const SMALLEST = 0.35;

/** Whether a screen polygon is on screen and big enough to change a pixel. */
function worthDrawing(points: readonly number[], camera: Camera): boolean {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i] as number;
    const y = points[i + 1] as number;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  if (maxX < 0 || maxY < 0 || minX > camera.width || minY > camera.height) return false;
  return maxX - minX >= SMALLEST || maxY - minY >= SMALLEST;
}

/** Drawing on one plane of the world, in that plane's own metres. */
export class Face {
  constructor(
    readonly sketch: Sketch,
    readonly plane: Plane,
    readonly shade: number,
    readonly role: Role,
  ) {}

  /** A surface of base colour `color`. */
  fill(outline: Outline, color: Readonly<Rgb>, shade = 1, role: Role = this.role): void {
    const screen = this.project(outline);
    if (screen.length >= 6) this.sketch.addScreen(screen, this.sketch.surface(color, this.shade * shade), role);
  }

  /** A lamp or lit window: its own colour, whatever the light. */
  emit(outline: Outline, color: Readonly<Rgb>, role: Role = this.role): void {
    const screen = this.project(outline);
    if (screen.length >= 6) this.sketch.addScreen(screen, this.sketch.emissive(color), role);
  }

  /** A fill with a colour string as given (shadows and other translucent decor). */
  paint(outline: Outline, fill: string, role: Role = this.role): void {
    this.sketch.addScreen(this.project(outline), fill, role);
  }

  private project(outline: Outline): number[] {
    const { origin, u, v } = this.plane;
    return projectPlanar(this.sketch.camera, origin, u, v, outline);
  }

  glow(a: number, b: number, radiusMetres: number, color: Rgb, strength: number): void {
    this.sketch.addGlow(planePoint(this.plane, a, b), radiusMetres, color, strength);
  }

  point(a: number, b: number): Vec3 {
    return planePoint(this.plane, a, b);
  }
}
