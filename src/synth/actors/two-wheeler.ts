/**
 * Bicycles and motorcycles: flat side views drawn in the plane through the machine's centre line (so they
 * foreshorten correctly as they turn), plus, for motorcycles, a narrow body box that gives them width when seen
 * from behind or ahead. Each also reports where a rider's seat, grips and feet are.
 */
import type { Vec3 } from '../camera';
import { circle, ring, roundRect, stroke, type Outline } from '../geometry';
import type { Rgb } from '../lighting';
import type { Sketch } from '../sketch';
import type { TwoWheelerActor } from '../world';
import { bodyFrame, bodyPoint, drawBoxes, type BodyFrame, type BoxSpec } from './box';
import type { Mount } from './person';

const TYRE: Rgb = [22, 22, 24];
const METAL: Rgb = [160, 162, 168];
const DARK: Rgb = [38, 38, 42];
const SADDLE: Rgb = [30, 28, 28];

interface BicycleGeometry {
  rear: [number, number];
  front: [number, number];
  bracket: [number, number];
  seatTop: [number, number];
  headTop: [number, number];
  headBottom: [number, number];
  grip: [number, number];
  pedals: [[number, number], [number, number]];
}

function bicycleGeometry(actor: TwoWheelerActor): BicycleGeometry {
  const { length: L, wheelRadius: r } = actor.look;
  const k = r / 0.34;
  const rear: [number, number] = [r + 0.02, r];
  const front: [number, number] = [L - r - 0.02, r];
  const bracket: [number, number] = [rear[0] + 0.42 * k, 0.28 * k];
  const seatTop: [number, number] = [bracket[0] - 0.13 * k, bracket[1] + 0.58 * k];
  const headTop: [number, number] = [front[0] - 0.2 * k, 0.88 * k];
  const headBottom: [number, number] = [front[0] - 0.15 * k, 0.7 * k];
  const grip: [number, number] = [headTop[0] - 0.08 * k, headTop[1] + 0.1 * k];
  const crank = 0.17 * k;
  const pedals: [[number, number], [number, number]] = [
    [bracket[0] + crank * Math.cos(actor.phase), bracket[1] + crank * Math.sin(actor.phase)],
    [bracket[0] - crank * Math.cos(actor.phase), bracket[1] - crank * Math.sin(actor.phase)],
  ];
  return { rear, front, bracket, seatTop, headTop, headBottom, grip, pedals };
}

function drawBicycle(sketch: Sketch, actor: TwoWheelerActor, frame: BodyFrame): void {
  const g = bicycleGeometry(actor);
  const r = actor.look.wheelRadius;
  const face = sketch.face({ origin: bodyPoint(frame, 0, 0, 0), u: frame.forward, v: [0, 1, 0] }, 0.95);
  const tube = 0.038;
  const color = actor.look.color;
  const line = (p: [number, number], q: [number, number], width: number, c: Rgb): void => face.fill(stroke(p[0], p[1], q[0], q[1], width), c);
  // The annotator's outline: both wheels whole and the frame's triangles, with the road showing through.
  for (const hub of [g.rear, g.front]) face.fill(circle(hub[0], hub[1], r, 28), TYRE, 1, 'outline');
  face.fill([...g.rear, ...g.seatTop, ...g.headTop, ...g.front, ...g.bracket], color, 1, 'outline');
  for (const hub of [g.rear, g.front]) {
    face.fill(ring(hub[0], hub[1], r, r - 0.045, 28), TYRE);
    face.fill(ring(hub[0], hub[1], r - 0.045, r - 0.065, 28), METAL, 0.9);
    face.fill(circle(hub[0], hub[1], 0.035, 8), METAL);
  }
  line(g.bracket, g.rear, tube * 0.8, color);
  line(g.seatTop, g.rear, tube * 0.8, color);
  line(g.bracket, g.seatTop, tube, color);
  line([g.seatTop[0] + 0.02, g.seatTop[1] - 0.06], g.headTop, tube, color);
  line(g.headBottom, g.bracket, tube * 1.1, color);
  line(g.headTop, g.headBottom, tube * 1.2, color);
  line(g.headBottom, g.front, tube * 0.8, METAL);
  line(g.headTop, g.grip, tube * 0.8, DARK);
  face.fill(roundRect(g.seatTop[0] - 0.13, g.seatTop[1] + 0.02, g.seatTop[0] + 0.1, g.seatTop[1] + 0.07, 0.02), SADDLE);
  line(g.pedals[0], g.pedals[1], 0.03, DARK);
  for (const pedal of g.pedals) face.fill(roundRect(pedal[0] - 0.05, pedal[1] - 0.015, pedal[0] + 0.05, pedal[1] + 0.015, 0.01), DARK);
  face.fill(circle(g.bracket[0], g.bracket[1], 0.09, 12), METAL, 0.8);
  // The handlebar across, which is what shows of a bicycle seen from behind.
  const bar: Outline = stroke(-0.24, 0, 0.24, 0, 0.035);
  const barFace = sketch.face({ origin: bodyPoint(frame, g.grip[0], 0, g.grip[1]), u: frame.right, v: [0, 1, 0] });
  barFace.fill(bar, DARK);
  const tyreFace = sketch.face({ origin: bodyPoint(frame, g.rear[0] - r * 0.6, 0, 0), u: frame.right, v: [0, 1, 0] });
  tyreFace.fill(roundRect(-0.025, 0, 0.025, r * 1.3, 0.02), TYRE);
}

function drawMotorcycle(sketch: Sketch, actor: TwoWheelerActor, frame: BodyFrame, eye: Vec3, glow: number): void {
  const { length: L, wheelRadius: r, color, trim } = actor.look;
  const rear: [number, number] = [r + 0.03, r];
  const front: [number, number] = [L - r - 0.03, r];
  const lit = actor.headlights;
  const body: BoxSpec = {
    a0: 0.25,
    a1: L - 0.55,
    halfWidth: 0.17,
    y0: 0.35,
    y1: 0.82,
    rearSlant: 0,
    frontSlant: 0,
    color: DARK,
    rear: (face, width) => {
      face.fill(roundRect(width / 2 - 0.07, -0.7, width / 2 + 0.07, 0.05, 0.03), TYRE);
      face.fill(roundRect(0.02, 0.55, width - 0.02, 1.0, 0.03), trim);
      if (lit) {
        face.emit(roundRect(width / 2 - 0.08, 0.75, width / 2 + 0.08, 0.92, 0.02), [255, 50, 40]);
        if (glow > 0) face.glow(width / 2, 0.83, 0.3, [255, 50, 40], glow);
      } else {
        face.fill(roundRect(width / 2 - 0.08, 0.75, width / 2 + 0.08, 0.92, 0.02), [150, 25, 25]);
      }
    },
    front: (face, width) => {
      face.fill(roundRect(width / 2 - 0.07, -0.7, width / 2 + 0.07, 0.05, 0.03), TYRE);
      face.fill(roundRect(-0.15, 1.3, width + 0.15, 1.45, 0.03), DARK);
    },
  };
  drawBoxes(sketch, frame, [body], eye);
  const face = sketch.face({ origin: bodyPoint(frame, 0, 0, 0), u: frame.forward, v: [0, 1, 0] }, 0.92);
  const line = (p: [number, number], q: [number, number], width: number, c: Rgb): void => face.fill(stroke(p[0], p[1], q[0], q[1], width), c);
  line(rear, [0.95, 0.45], 0.07, DARK);
  line([1.0, 0.33], [0.25, 0.42], 0.08, METAL);
  for (const hub of [rear, front]) {
    face.fill(circle(hub[0], hub[1], r, 24), TYRE);
    face.fill(circle(hub[0], hub[1], r * 0.68, 18), METAL, 0.85);
    face.fill(circle(hub[0], hub[1], r * 0.2, 10), DARK);
  }
  face.fill(roundRect(0.8, 0.28, 1.35, 0.66, 0.06), [70, 72, 76]);
  const headTop: [number, number] = [front[0] - 0.28, 1.02];
  line(front, headTop, 0.06, METAL);
  face.fill([0.12, 0.78, 0.55, 0.8, 0.7, 0.92, 0.2, 0.96], trim);
  face.fill(roundRect(0.45, 0.8, 1.1, 0.9, 0.04), SADDLE);
  face.fill([1.05, 0.72, 1.55, 0.72, 1.6, 0.95, 1.1, 1.0], color);
  face.fill([front[0] - 0.35, 0.75, front[0] - 0.1, 0.8, front[0] - 0.16, 1.05, front[0] - 0.38, 1.05], color, 0.9);
  const lampOutline = circle(front[0] - 0.14, 0.93, 0.08, 12);
  if (lit) {
    face.emit(lampOutline, [255, 250, 225]);
    if (glow > 0) face.glow(front[0] - 0.1, 0.93, 0.5, [255, 250, 225], glow * 1.3);
  } else {
    face.fill(lampOutline, [200, 205, 210]);
  }
  line([headTop[0] + 0.05, headTop[1] + 0.02], [headTop[0] - 0.18, headTop[1] + 0.1], 0.04, DARK);
}

/** Where a rider sits, holds and rests the feet, in world coordinates. */
export function mountOf(actor: TwoWheelerActor, z: number): Mount {
  const frame = bodyFrame(actor.x, z, actor.heading, actor.look.length);
  const at = (a: number, l: number, y: number): Vec3 => bodyPoint(frame, a, l, y);
  if (actor.kind === 'bicycle') {
    const g = bicycleGeometry(actor);
    return {
      seat: at(g.seatTop[0] - 0.02, 0, g.seatTop[1] + 0.05),
      grips: [at(g.grip[0], -0.24, g.grip[1]), at(g.grip[0], 0.24, g.grip[1])],
      feet: [at(g.pedals[0][0], -0.12, g.pedals[0][1] + 0.04), at(g.pedals[1][0], 0.12, g.pedals[1][1] + 0.04)],
      forward: frame.forward,
      right: frame.right,
      lean: 0.55,
    };
  }
  const L = actor.look.length;
  return {
    seat: at(0.85, 0, 0.9),
    grips: [at(L - 0.62, -0.33, 1.1), at(L - 0.62, 0.33, 1.1)],
    feet: [at(1.05, -0.2, 0.42), at(1.05, 0.2, 0.42)],
    forward: frame.forward,
    right: frame.right,
    lean: 0.45,
  };
}

export function drawTwoWheeler(sketch: Sketch, actor: TwoWheelerActor, z: number, eye: Vec3, glow: number): void {
  const frame = bodyFrame(actor.x, z, actor.heading, actor.look.length);
  const shadow = [bodyPoint(frame, 0.1, -0.25, 0), bodyPoint(frame, actor.look.length - 0.1, -0.25, 0), bodyPoint(frame, actor.look.length - 0.1, 0.25, 0), bodyPoint(frame, 0.1, 0.25, 0)];
  sketch.addGround(shadow, 'rgba(0,0,0,0.25)');
  if (actor.kind === 'bicycle') drawBicycle(sketch, actor, frame);
  else drawMotorcycle(sketch, actor, frame, eye, glow);
}
