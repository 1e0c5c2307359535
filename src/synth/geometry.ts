/**
 * Flat shapes in the local 2-D coordinates of a plane (a along the plane's u axis, b along v, metres), as flat
 * point lists [a0, b0, a1, b1, ...]. Curves are sampled finely enough to look smooth at any size a road user
 * reaches on screen; the same points make both the drawn pixels and the mask, so the two always agree.
 */
import type { Vec3 } from './camera';

export type Outline = number[];

/** A plane in the world: a point and two axes (usually unit length and at right angles). */
export interface Plane {
  origin: Vec3;
  u: Vec3;
  v: Vec3;
}

export const UP: Vec3 = [0, 1, 0];

export function planePoint(plane: Plane, a: number, b: number): Vec3 {
  const { origin: o, u, v } = plane;
  return [o[0] + a * u[0] + b * v[0], o[1] + a * u[1] + b * v[1], o[2] + a * u[2] + b * v[2]];
}

export function toWorld(plane: Plane, outline: Outline): Vec3[] {
  const points: Vec3[] = [];
  for (let i = 0; i + 1 < outline.length; i += 2) points.push(planePoint(plane, outline[i] as number, outline[i + 1] as number));
  return points;
}

export function rect(a0: number, b0: number, a1: number, b1: number): Outline {
  return [a0, b0, a1, b0, a1, b1, a0, b1];
}

/** Points along a circular or elliptical arc from `start` to `end` radians (counter-clockwise when end > start). */
export function arc(ca: number, cb: number, ra: number, rb: number, start: number, end: number, segments: number): Outline {
  const out: Outline = [];
  for (let i = 0; i <= segments; i++) {
    const t = start + ((end - start) * i) / segments;
    out.push(ca + ra * Math.cos(t), cb + rb * Math.sin(t));
  }
  return out;
}

export function ellipse(ca: number, cb: number, ra: number, rb: number, segments = 20): Outline {
  return arc(ca, cb, ra, rb, 0, 2 * Math.PI * (1 - 1 / segments), segments - 1);
}

export function circle(ca: number, cb: number, r: number, segments = 20): Outline {
  return ellipse(ca, cb, r, r, segments);
}

/** A rectangle with rounded corners; `r` is capped at half the shorter side. */
export function roundRect(a0: number, b0: number, a1: number, b1: number, r: number, segments = 4): Outline {
  const radius = Math.max(0, Math.min(r, Math.abs(a1 - a0) / 2, Math.abs(b1 - b0) / 2));
  if (radius === 0) return rect(a0, b0, a1, b1);
  const lo = [Math.min(a0, a1), Math.min(b0, b1)] as const;
  const hi = [Math.max(a0, a1), Math.max(b0, b1)] as const;
  return [
    ...arc(hi[0] - radius, lo[1] + radius, radius, radius, -Math.PI / 2, 0, segments),
    ...arc(hi[0] - radius, hi[1] - radius, radius, radius, 0, Math.PI / 2, segments),
    ...arc(lo[0] + radius, hi[1] - radius, radius, radius, Math.PI / 2, Math.PI, segments),
    ...arc(lo[0] + radius, lo[1] + radius, radius, radius, Math.PI, 1.5 * Math.PI, segments),
  ];
}

/** A straight stroke of the given width as a quadrilateral, with square ends extended by half the width. */
export function stroke(a0: number, b0: number, a1: number, b1: number, width: number): Outline {
  const da = a1 - a0;
  const db = b1 - b0;
  const length = Math.hypot(da, db) || 1;
  const ta = (da / length) * (width / 2);
  const tb = (db / length) * (width / 2);
  const na = -tb;
  const nb = ta;
  return [a0 - ta + na, b0 - tb + nb, a1 + ta + na, b1 + tb + nb, a1 + ta - na, b1 + tb - nb, a0 - ta - na, b0 - tb - nb];
}

/** A ring (annulus) as one polygon: outer circle forward, inner circle back, joined by a zero-width seam. */
export function ring(ca: number, cb: number, outer: number, inner: number, segments = 24): Outline {
  const out = arc(ca, cb, outer, outer, 0, 2 * Math.PI, segments);
  const back = arc(ca, cb, inner, inner, 2 * Math.PI, 0, segments);
  return [...out, ...back];
}

/** Mirrors an outline across a = axis (to draw a shape facing the other way). */
export function mirror(outline: Outline, axis: number): Outline {
  const out = outline.slice();
  for (let i = 0; i < out.length; i += 2) out[i] = 2 * axis - (out[i] as number);
  return out;
}
