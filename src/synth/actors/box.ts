/**
 * Road users built from boxes: a car is a body box with a cabin box on top, a truck a cab and a cargo box. Each box
 * is drawn as the faces the camera can see, farthest first, and each face's details (windows, lamps, wheels) are
 * painted in that face's own coordinates, so perspective foreshortening comes out right from any angle.
 */
import type { Vec3 } from '../camera';
import type { Plane } from '../geometry';
import type { Face, Role, Sketch } from '../sketch';
import type { Rgb } from '../lighting';

/** A road user's own frame: where it stands, which way it faces and how long it is. */
export interface BodyFrame {
  /** Centre of the footprint, camera-relative world coordinates (z = s - ego s). */
  x: number;
  z: number;
  /** Unit vector of the heading and of the road user's right-hand side. */
  forward: Vec3;
  right: Vec3;
  length: number;
}

export function bodyFrame(x: number, z: number, heading: number, length: number): BodyFrame {
  const sin = Math.sin(heading);
  const cos = Math.cos(heading);
  return { x, z, forward: [sin, 0, cos], right: [cos, 0, -sin], length };
}

/** The world point `a` metres from the rear, `l` metres to the right of the centre line, `y` up. */
export function bodyPoint(frame: BodyFrame, a: number, l: number, y: number): Vec3 {
  const along = a - frame.length / 2;
  return [frame.x + frame.forward[0] * along + frame.right[0] * l, y, frame.z + frame.forward[2] * along + frame.right[2] * l];
}

/**
 * Painters of a box's faces. End faces (rear, front) get coordinates a ∈ [0, width] across as seen from outside
 * and b ∈ [0, 1] from the bottom edge to the top edge; sides get a ∈ [0, length] from the vehicle's rear and b in
 * metres above the road; the top gets a along the vehicle from the top's rear edge and b ∈ [0, width].
 */
export interface BoxPainters {
  side?(face: Face, box: BoxSpec): void;
  rear?(face: Face, width: number, box: BoxSpec): void;
  front?(face: Face, width: number, box: BoxSpec): void;
  top?(face: Face, length: number, width: number, box: BoxSpec): void;
}

export interface BoxSpec extends BoxPainters {
  /** Span along the vehicle from its rear, metres. */
  a0: number;
  a1: number;
  halfWidth: number;
  y0: number;
  y1: number;
  /** How far the top edge of the rear (front) face sits inwards of its bottom edge: windscreens lean. */
  rearSlant: number;
  frontSlant: number;
  color: Rgb;
}

/** How much each face's orientation darkens it under light from above and slightly to the right. */
const SHADE = { top: 1.08, rear: 0.92, front: 0.95, left: 0.78, right: 0.84 };

interface FaceDraw {
  distance: number;
  draw(): void;
}

function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

function distance(a: Vec3, b: Vec3): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Draws the boxes, each as its faces that the camera at `eye` sees, farthest box and face first. */
export function drawBoxes(sketch: Sketch, frame: BodyFrame, boxes: readonly BoxSpec[], eye: Vec3, role: Role = 'mask'): void {
  const centres = boxes.map((box) => bodyPoint(frame, (box.a0 + box.a1) / 2, 0, (box.y0 + box.y1) / 2));
  const order = boxes.map((_, i) => i).sort((i, j) => distance(centres[j] as Vec3, eye) - distance(centres[i] as Vec3, eye));
  for (const index of order) drawBox(sketch, frame, boxes[index] as BoxSpec, eye, role);
}

function drawBox(sketch: Sketch, frame: BodyFrame, box: BoxSpec, eye: Vec3, role: Role): void {
  const { a0, a1, halfWidth: hw, y0, y1, rearSlant, frontSlant } = box;
  const height = y1 - y0;
  const { forward: d, right: r } = frame;
  const up: Vec3 = [0, 1, 0];
  const faces: FaceDraw[] = [];
  const consider = (plane: Plane, centre: Vec3, normal: Vec3, draw: (plane: Plane) => void): void => {
    if (dot(normal, sub(eye, centre)) <= 1e-6) return;
    faces.push({ distance: distance(centre, eye), draw: () => draw(plane) });
  };
  const sideOutline = [a0, y0, a1, y0, a1 - frontSlant, y1, a0 + rearSlant, y1];
  for (const sign of [-1, 1] as const) {
    const plane: Plane = { origin: bodyPoint(frame, 0, sign * hw, 0), u: d, v: up };
    const normal: Vec3 = [r[0] * sign, 0, r[2] * sign];
    const centre = bodyPoint(frame, (a0 + a1) / 2, sign * hw, (y0 + y1) / 2);
    consider(plane, centre, normal, (p) => {
      const face = sketch.face(p, sign < 0 ? SHADE.left : SHADE.right, role);
      face.fill(sideOutline, box.color);
      box.side?.(face, box);
    });
  }
  const width = 2 * hw;
  {
    const bottom = bodyPoint(frame, a0, -hw, y0);
    const top = bodyPoint(frame, a0 + rearSlant, -hw, y1);
    const v = sub(top, bottom);
    const plane: Plane = { origin: bottom, u: r, v };
    const normal: Vec3 = [-d[0] * height, rearSlant, -d[2] * height];
    const centre = bodyPoint(frame, a0 + rearSlant / 2, 0, (y0 + y1) / 2);
    consider(plane, centre, normal, (p) => {
      const face = sketch.face(p, SHADE.rear, role);
      face.fill([0, 0, width, 0, width, 1, 0, 1], box.color);
      box.rear?.(face, width, box);
    });
  }
  {
    const bottom = bodyPoint(frame, a1, hw, y0);
    const top = bodyPoint(frame, a1 - frontSlant, hw, y1);
    const plane: Plane = { origin: bottom, u: [-r[0], 0, -r[2]], v: sub(top, bottom) };
    const normal: Vec3 = [d[0] * height, frontSlant, d[2] * height];
    const centre = bodyPoint(frame, a1 - frontSlant / 2, 0, (y0 + y1) / 2);
    consider(plane, centre, normal, (p) => {
      const face = sketch.face(p, SHADE.front, role);
      face.fill([0, 0, width, 0, width, 1, 0, 1], box.color);
      box.front?.(face, width, box);
    });
  }
  {
    const topLength = a1 - frontSlant - (a0 + rearSlant);
    if (topLength > 0) {
      const plane: Plane = { origin: bodyPoint(frame, a0 + rearSlant, -hw, y1), u: d, v: r };
      const centre = bodyPoint(frame, (a0 + rearSlant + a1 - frontSlant) / 2, 0, y1);
      consider(plane, centre, up, (p) => {
        const face = sketch.face(p, SHADE.top, role);
        face.fill([0, 0, topLength, 0, topLength, width, 0, width], box.color);
        box.top?.(face, topLength, width, box);
      });
    }
  }
  faces.sort((f, g) => g.distance - f.distance);
  for (const face of faces) face.draw();
}
