/**
 * Cars, trucks and buses: each model is a few boxes (body and cabin, cab and cargo box) with its windows, lamps,
 * bumpers and wheels painted on the faces. Colours, proportions and lamps vary per vehicle through its look.
 */
import type { Vec3 } from '../camera';
import { circle, rect, roundRect, stroke, type Outline } from '../geometry';
import type { Rgb } from '../lighting';
import type { Face, Sketch } from '../sketch';
import type { VehicleActor, VehicleLook } from '../world';
import { bodyFrame, bodyPoint, drawBoxes, type BoxSpec } from './box';

const GLASS: Rgb = [52, 66, 84];
const TYRE: Rgb = [24, 24, 26];
const RIM: Rgb = [150, 152, 158];
const BLACK_TRIM: Rgb = [35, 36, 38];
const PLATE: Rgb = [225, 225, 215];
const TAIL_OFF: Rgb = [150, 25, 25];
const TAIL_ON: Rgb = [255, 50, 40];
const HEAD_OFF: Rgb = [205, 210, 215];
const HEAD_ON: Rgb = [255, 250, 225];
const AMBER: Rgb = [230, 140, 20];

interface Lamps {
  /** Headlights and taillights on. */
  on: boolean;
  braking: boolean;
  /** Glow strength of lit lamps: strong at night, faint by day. */
  glow: number;
}

/** Wheel seen from the side: tyre, rim and hub, centred at (a, radius). */
function sideWheel(face: Face, a: number, radius: number): void {
  face.fill(circle(a, radius, radius, 22), TYRE);
  face.fill(circle(a, radius, radius * 0.62, 18), RIM, 0.9);
  face.fill(circle(a, radius, radius * 0.22, 10), BLACK_TRIM);
}

/** Dark half-disc behind a wheel where the body is cut away. */
function wheelArch(face: Face, a: number, radius: number): void {
  const points: number[] = [];
  const r = radius * 1.12;
  for (let i = 0; i <= 12; i++) {
    const t = (Math.PI * i) / 12;
    points.push(a + r * Math.cos(t), radius + r * Math.sin(t));
  }
  face.fill(points, [15, 15, 16]);
}

/** Tyres showing below an end face: dark blocks at its two lower corners, from the road up to `top` metres. */
function endTyres(face: Face, width: number, box: BoxSpec, top: number, inset: number, tyreWidth: number): void {
  const toB = (y: number): number => (y - box.y0) / (box.y1 - box.y0);
  face.fill(rect(inset, toB(0), inset + tyreWidth, toB(top)), TYRE);
  face.fill(rect(width - inset - tyreWidth, toB(0), width - inset, toB(top)), TYRE);
}

function lamp(face: Face, outline: Outline, off: Rgb, on: Rgb, lit: boolean, glow: number, centre: [number, number], radius: number): void {
  if (lit) {
    face.emit(outline, on);
    if (glow > 0) face.glow(centre[0], centre[1], radius, on, glow);
  } else {
    face.fill(outline, off);
  }
}

/** Windows along a cabin side between its leaning pillars, split by `posts` pillars at the given positions. */
function cabinWindows(face: Face, box: BoxSpec, posts: readonly number[], inset = 0.06): void {
  const { a0, a1, y0, y1, rearSlant, frontSlant } = box;
  const bottom = y0 + inset * 0.8;
  const top = y1 - inset;
  const rearAt = (y: number): number => a0 + (rearSlant * (y - y0)) / (y1 - y0) + inset;
  const frontAt = (y: number): number => a1 - (frontSlant * (y - y0)) / (y1 - y0) - inset;
  const edges = [rearAt, ...posts.map((p) => (): number => p), frontAt];
  for (let i = 0; i + 1 < edges.length; i++) {
    const left = edges[i] as (y: number) => number;
    const right = edges[i + 1] as (y: number) => number;
    const gap = i === 0 ? 0 : 0.05;
    const gapRight = i + 2 === edges.length ? 0 : 0.05;
    const outline = [left(bottom) + gap, bottom, right(bottom) - gapRight, bottom, right(top) - gapRight, top, left(top) + gap, top];
    if ((outline[2] as number) - (outline[0] as number) > 0.08) face.fill(outline, GLASS, 1.05);
  }
}

/** Rear or front glass of a cabin: a leaning face, inset from its edges. */
function endGlass(face: Face, width: number, margin: number, bottom = 0.1, top = 0.88): void {
  face.fill(roundRect(margin, bottom, width - margin, top, 0.04), GLASS, 1.1);
}

function carBoxes(look: VehicleLook, lamps: Lamps): BoxSpec[] {
  const { length: L, width: W, height: H, clearance, wheelRadius: r, color } = look;
  const shape = {
    sedan: { belt: 0.6, ca0: 0.2, rs: 0.13, ca1: 0.78, fs: 0.18 },
    hatchback: { belt: 0.58, ca0: 0.03, rs: 0.09, ca1: 0.76, fs: 0.2 },
    suv: { belt: 0.58, ca0: 0.02, rs: 0.05, ca1: 0.78, fs: 0.15 },
    van: { belt: 0.5, ca0: 0.01, rs: 0.03, ca1: 0.84, fs: 0.2 },
  }[look.model as 'sedan' | 'hatchback' | 'suv' | 'van'];
  const belt = H * shape.belt;
  const rearAxle = Math.max(r + 0.25, L * 0.18);
  const frontAxle = L - Math.max(r + 0.35, L * 0.19);
  const body: BoxSpec = {
    a0: 0,
    a1: L,
    halfWidth: W / 2,
    y0: clearance,
    y1: belt,
    rearSlant: 0.06,
    frontSlant: 0.12,
    color,
    side: (face) => {
      wheelArch(face, rearAxle, r);
      wheelArch(face, frontAxle, r);
      sideWheel(face, rearAxle, r);
      sideWheel(face, frontAxle, r);
      face.fill(rect(0.02, clearance, L - 0.02, clearance + 0.12), BLACK_TRIM, 1);
      const door = L * 0.5;
      face.fill(stroke(door, clearance + 0.15, door, belt - 0.03, 0.018), BLACK_TRIM, 0.7);
      face.fill(rect(door - 0.28, belt - 0.16, door - 0.16, belt - 0.12), BLACK_TRIM, 0.8);
      face.fill(rect(0, belt - 0.2, 0.05, belt - 0.06), lamps.braking || lamps.on ? TAIL_ON : TAIL_OFF);
      face.fill(rect(L - 0.12, belt - 0.18, L, belt - 0.06), HEAD_OFF);
    },
    rear: (face, width, box) => {
      endTyres(face, width, box, clearance + 0.25, 0.1, 0.26);
      face.fill(rect(0, 0, width, 0.28), BLACK_TRIM, 1.3);
      const lampTop = 0.92;
      const lampBottom = 0.6;
      const lit = lamps.on || lamps.braking;
      const glow = lamps.braking ? Math.max(lamps.glow, 0.25) : lamps.glow;
      const bh = belt - clearance;
      lamp(face, roundRect(0.04, lampBottom, 0.34, lampTop, 0.03), TAIL_OFF, TAIL_ON, lit, glow, [0.19, 0.76], 0.35);
      lamp(face, roundRect(width - 0.34, lampBottom, width - 0.04, lampTop, 0.03), TAIL_OFF, TAIL_ON, lit, glow, [width - 0.19, 0.76], 0.35);
      face.fill(rect(width / 2 - 0.26, 0.3, width / 2 + 0.26, 0.3 + 0.12 / bh), PLATE);
    },
    front: (face, width, box) => {
      endTyres(face, width, box, clearance + 0.25, 0.1, 0.24);
      face.fill(rect(0, 0, width, 0.25), BLACK_TRIM, 1.2);
      face.fill(roundRect(0.45, 0.3, width - 0.45, 0.62, 0.04), BLACK_TRIM);
      const glow = lamps.on ? lamps.glow * 1.4 : 0;
      lamp(face, roundRect(0.06, 0.62, 0.42, 0.88, 0.04), HEAD_OFF, HEAD_ON, lamps.on, glow, [0.24, 0.75], 0.6);
      lamp(face, roundRect(width - 0.42, 0.62, width - 0.06, 0.88, 0.04), HEAD_OFF, HEAD_ON, lamps.on, glow, [width - 0.24, 0.75], 0.6);
      face.fill(rect(width / 2 - 0.24, 0.08, width / 2 + 0.24, 0.22), PLATE);
    },
  };
  const cabin: BoxSpec = {
    a0: L * shape.ca0,
    a1: L * shape.ca1,
    halfWidth: W / 2 - 0.09,
    y0: belt,
    y1: H,
    rearSlant: L * shape.rs,
    frontSlant: L * shape.fs,
    color,
    side: (face, box) => {
      const span = box.a1 - box.a0;
      const posts = look.model === 'van' ? [box.a0 + span * 0.35, box.a0 + span * 0.68] : [box.a0 + span * 0.48];
      cabinWindows(face, box, posts);
    },
    rear: (face, width) => endGlass(face, width, 0.1, 0.12, 0.86),
    front: (face, width) => endGlass(face, width, 0.07, 0.06, 0.9),
    top: look.model === 'suv' ? (face, length, width) => {
      face.fill(rect(0.1, 0.08, length - 0.1, 0.14), BLACK_TRIM);
      face.fill(rect(0.1, width - 0.14, length - 0.1, width - 0.08), BLACK_TRIM);
    } : undefined,
  };
  return [body, cabin];
}

function truckBoxes(look: VehicleLook, lamps: Lamps): BoxSpec[] {
  const { length: L, width: W, height: H, wheelRadius: r, color, trim } = look;
  const semi = look.model === 'semi';
  const cabLength = semi ? 2.5 : 2.0;
  const cabHeight = semi ? Math.min(H - 0.4, 3.2) : Math.min(H - 0.3, 2.7);
  const deck = semi ? 1.2 : 0.95;
  const cargoEnd = L - cabLength - (semi ? 0.4 : 0.15);
  const axles = semi ? [1.1, 2.4, L - 4.3, L - 3.1, L - 1.3] : [1.3, L - 1.2];
  const cab: BoxSpec = {
    a0: L - cabLength,
    a1: L,
    halfWidth: W / 2 - 0.05,
    y0: 0.55,
    y1: cabHeight,
    rearSlant: 0,
    frontSlant: 0.18,
    color,
    side: (face, box) => {
      const y = box.y1 - 0.25;
      face.fill([box.a1 - 0.95, 1.55, box.a1 - 0.2, 1.55, box.a1 - 0.18 - 0.1, y, box.a1 - 0.95, y], GLASS, 1.05);
      face.fill(stroke(box.a1 - 1.0, 0.7, box.a1 - 1.0, y, 0.025), BLACK_TRIM);
      face.fill(rect(box.a0 + 0.05, 0.6, box.a1 - 0.05, 0.8), BLACK_TRIM, 1.2);
    },
    front: (face, width) => {
      const glow = lamps.on ? lamps.glow * 1.4 : 0;
      face.fill(roundRect(0.12, 0.5, width - 0.12, 0.92, 0.05), GLASS, 1.1);
      face.fill(rect(0.5, 0.14, width - 0.5, 0.42), BLACK_TRIM, 1.1);
      face.fill(rect(0, 0, width, 0.1), BLACK_TRIM, 1.3);
      lamp(face, roundRect(0.08, 0.16, 0.42, 0.3, 0.03), HEAD_OFF, HEAD_ON, lamps.on, glow, [0.25, 0.23], 0.7);
      lamp(face, roundRect(width - 0.42, 0.16, width - 0.08, 0.3, 0.03), HEAD_OFF, HEAD_ON, lamps.on, glow, [width - 0.25, 0.23], 0.7);
    },
    top: semi ? (face, length, width) => face.fill(rect(0.2, 0.15, length - 0.1, width - 0.15), trim, 0.9) : undefined,
  };
  const cargo: BoxSpec = {
    a0: 0,
    a1: cargoEnd,
    halfWidth: W / 2,
    y0: deck,
    y1: H,
    rearSlant: 0,
    frontSlant: 0,
    color: trim,
    side: (face, box) => {
      face.fill(rect(box.a0, box.y0, box.a1, box.y0 + 0.12), BLACK_TRIM, 1.1);
      if (semi) face.fill(rect(box.a0 + 0.5, box.y1 - 0.9, box.a1 - 0.5, box.y1 - 0.4), color, 0.95);
    },
    rear: (face, width, box) => {
      const heightM = box.y1 - box.y0;
      face.fill(stroke(width / 2, 0.03, width / 2, 0.97, 0.03), BLACK_TRIM, 0.8);
      face.fill(rect(0.05, 0, width - 0.05, 0.05 / heightM + 0.02), BLACK_TRIM);
      const lit = lamps.on || lamps.braking;
      const glow = lamps.braking ? Math.max(lamps.glow, 0.25) : lamps.glow;
      const lampB = 0.12 / heightM;
      lamp(face, rect(0.08, lampB, 0.3, lampB + 0.16 / heightM), TAIL_OFF, TAIL_ON, lit, glow, [0.19, lampB], 0.4);
      lamp(face, rect(width - 0.3, lampB, width - 0.08, lampB + 0.16 / heightM), TAIL_OFF, TAIL_ON, lit, glow, [width - 0.19, lampB], 0.4);
      face.fill(rect(0.4, lampB, 0.5, lampB + 0.1 / heightM), AMBER);
      face.fill(rect(width - 0.5, lampB, width - 0.4, lampB + 0.1 / heightM), AMBER);
    },
  };
  const chassis: BoxSpec = {
    a0: 0.1,
    a1: L - cabLength + 0.05,
    halfWidth: W / 2 - 0.2,
    y0: 0.45,
    y1: deck,
    rearSlant: 0,
    frontSlant: 0,
    color: BLACK_TRIM,
    side: (face) => {
      for (const a of axles) {
        wheelArch(face, a, r);
        sideWheel(face, a, r);
      }
      if (semi) face.fill(roundRect(L - cabLength - 1.6, 0.55, L - cabLength - 0.2, 1.05, 0.25), [170, 172, 176]);
    },
    rear: (face, width, box) => {
      endTyres(face, width, box, 0.95, -0.08, 0.5);
      const toB = (y: number): number => (y - box.y0) / (box.y1 - box.y0);
      face.fill(rect(-0.1, toB(0.45), width + 0.1, toB(0.6)), [60, 62, 66]);
    },
    front: (face, width, box) => endTyres(face, width, box, 0.9, 0.05, 0.35),
  };
  return [chassis, cargo, cab];
}

function busBoxes(look: VehicleLook, lamps: Lamps, windowsLit: boolean): BoxSpec[] {
  const { length: L, width: W, height: H, wheelRadius: r, color, trim } = look;
  const school = look.model === 'school-bus';
  const hood = school ? 1.3 : 0;
  const windowBottom = school ? 1.45 : 1.15;
  const windowTop = H - (look.model === 'coach' ? 0.35 : 0.3);
  const glass = windowsLit ? null : GLASS;
  const litGlass: Rgb = [235, 210, 150];
  const axles = [2.2, L - hood - 2.4];
  const body: BoxSpec = {
    a0: 0,
    a1: L - hood,
    halfWidth: W / 2,
    y0: 0.32,
    y1: H,
    rearSlant: 0.05,
    frontSlant: school ? 0.05 : 0.12,
    color,
    side: (face, box) => {
      for (const a of axles) {
        wheelArch(face, a, r);
        sideWheel(face, a, r);
      }
      face.fill(rect(0, 0.32, box.a1, 0.5), BLACK_TRIM, 1.1);
      if (school) {
        face.fill(rect(0, 1.05, box.a1, 1.12), BLACK_TRIM);
        face.fill(rect(0, 0.75, box.a1, 0.82), BLACK_TRIM);
      } else {
        face.fill(rect(0, windowBottom - 0.28, box.a1, windowBottom - 0.08), trim);
      }
      const pitch = school ? 0.85 : 1.35;
      for (let a = 0.35; a + pitch * 0.8 < box.a1 - 1.1; a += pitch) {
        const outline = rect(a, windowBottom, a + pitch - 0.1, windowTop);
        if (glass) face.fill(outline, glass, 1.05);
        else face.emit(outline, litGlass);
      }
      face.fill(rect(box.a1 - 1.05, 0.45, box.a1 - 0.2, windowTop), GLASS, 0.9);
    },
    rear: (face, width, box) => {
      const h = box.y1 - box.y0;
      endTyres(face, width, box, 0.85, 0.15, 0.35);
      face.fill(roundRect(0.18, (windowBottom + 0.2 - box.y0) / h, width - 0.18, (windowTop - box.y0) / h, 0.06), GLASS, 1.05);
      face.fill(rect(0, 0, width, 0.3 / h), BLACK_TRIM, 1.2);
      const lit = lamps.on || lamps.braking;
      const glow = lamps.braking ? Math.max(lamps.glow, 0.25) : lamps.glow;
      lamp(face, roundRect(0.06, 0.4 / h, 0.26, 1.0 / h, 0.03), TAIL_OFF, TAIL_ON, lit, glow, [0.16, 0.7 / h], 0.5);
      lamp(face, roundRect(width - 0.26, 0.4 / h, width - 0.06, 1.0 / h, 0.03), TAIL_OFF, TAIL_ON, lit, glow, [width - 0.16, 0.7 / h], 0.5);
      face.fill(rect(width / 2 - 0.3, 0.45 / h, width / 2 + 0.3, 0.62 / h), PLATE);
    },
    front: school
      ? (face, width, box) => {
          const h = box.y1 - box.y0;
          face.fill(roundRect(0.1, (windowBottom - box.y0) / h, width - 0.1, (windowTop - box.y0) / h, 0.05), GLASS, 1.1);
        }
      : (face, width, box) => {
          const h = box.y1 - box.y0;
          const glow = lamps.on ? lamps.glow * 1.4 : 0;
          endTyres(face, width, box, 0.85, 0.15, 0.35);
          face.fill(roundRect(0.08, (0.95 - box.y0) / h, width - 0.08, (windowTop - 0.05 - box.y0) / h, 0.06), GLASS, 1.1);
          const sign = rect(0.3, (windowTop - box.y0 + 0.02) / h, width - 0.3, (box.y1 - 0.05 - box.y0) / h);
          if (lamps.on) face.emit(sign, [250, 170, 40]);
          else face.fill(sign, BLACK_TRIM);
          lamp(face, roundRect(0.1, 0.3 / h, 0.45, 0.5 / h, 0.04), HEAD_OFF, HEAD_ON, lamps.on, glow, [0.27, 0.4 / h], 0.7);
          lamp(face, roundRect(width - 0.45, 0.3 / h, width - 0.1, 0.5 / h, 0.04), HEAD_OFF, HEAD_ON, lamps.on, glow, [width - 0.27, 0.4 / h], 0.7);
          face.fill(rect(0, 0, width, 0.22 / h), BLACK_TRIM, 1.2);
        },
  };
  if (!school) return [body];
  const hoodBox: BoxSpec = {
    a0: L - hood - 0.05,
    a1: L,
    halfWidth: W / 2 - 0.25,
    y0: 0.4,
    y1: 1.45,
    rearSlant: 0,
    frontSlant: 0.15,
    color,
    side: (face) => {
      wheelArch(face, L - 0.75, r);
      sideWheel(face, L - 0.75, r);
    },
    front: (face, width, box) => {
      const glow = lamps.on ? lamps.glow * 1.4 : 0;
      endTyres(face, width, box, 0.8, 0.02, 0.3);
      face.fill(rect(0.35, 0.2, width - 0.35, 0.8), BLACK_TRIM);
      lamp(face, circle(0.18, 0.6, 0.12, 12), HEAD_OFF, HEAD_ON, lamps.on, glow, [0.18, 0.6], 0.7);
      lamp(face, circle(width - 0.18, 0.6, 0.12, 12), HEAD_OFF, HEAD_ON, lamps.on, glow, [width - 0.18, 0.6], 0.7);
      face.fill(rect(-0.1, 0, width + 0.1, 0.12), BLACK_TRIM, 1.2);
    },
  };
  return [body, hoodBox];
}

export interface DrawContext {
  sketch: Sketch;
  /** Camera position in camera-relative world coordinates. */
  eye: Vec3;
  /** Glow strength for lit lamps: 0 by day, about 1 at night. */
  glow: number;
  windowsLit: (id: number) => boolean;
}

/** A shadow on the road under a footprint, a little larger than it. */
export function groundShadow(sketch: Sketch, frame: ReturnType<typeof bodyFrame>, halfWidth: number, strength: number): void {
  if (strength <= 0) return;
  const L = frame.length;
  const corners = [bodyPoint(frame, -0.15, -halfWidth - 0.1, 0), bodyPoint(frame, L + 0.15, -halfWidth - 0.1, 0), bodyPoint(frame, L + 0.15, halfWidth + 0.1, 0), bodyPoint(frame, -0.15, halfWidth + 0.1, 0)];
  sketch.addGround(corners, `rgba(0,0,0,${strength.toFixed(3)})`);
}

/** Light thrown on the road ahead of lit headlights: seen from behind the car, only a faint spill. */
function headlightBeam(sketch: Sketch, frame: ReturnType<typeof bodyFrame>, halfWidth: number, strength: number): void {
  const L = frame.length;
  const reach = 11;
  const towardsCamera = frame.forward[2] < 0;
  const points = [bodyPoint(frame, L, -halfWidth, 0.01), bodyPoint(frame, L, halfWidth, 0.01), bodyPoint(frame, L + reach, halfWidth + 1.6, 0.01), bodyPoint(frame, L + reach, -halfWidth - 1.6, 0.01)];
  sketch.addGround(points, `rgba(255,240,200,${((towardsCamera ? 0.06 : 0.025) * strength).toFixed(3)})`);
}

export function drawVehicle(context: DrawContext, actor: VehicleActor, z: number): void {
  const { look } = actor;
  const frame = bodyFrame(actor.x, z, actor.heading, look.length);
  const lamps: Lamps = { on: actor.headlights, braking: actor.braking, glow: context.glow };
  groundShadow(context.sketch, frame, look.width / 2, context.sketch.lighting.mode === 'day' ? 0.4 : 0.3);
  if (actor.headlights && context.glow > 0.3) headlightBeam(context.sketch, frame, look.width / 2, context.glow);
  const boxes =
    actor.kind === 'car' ? carBoxes(look, lamps) : actor.kind === 'truck' ? truckBoxes(look, lamps) : busBoxes(look, lamps, context.windowsLit(actor.id));
  drawBoxes(context.sketch, frame, boxes, context.eye);
}
