/** Traffic lights (housing, backplate and lamps; the post is street furniture) and stop signs (the octagon). */
import type { Vec3 } from '../camera';
import { arc, rect, roundRect, stroke, type Outline } from '../geometry';
import type { Rgb } from '../lighting';
import type { Face, Sketch } from '../sketch';
import type { StopSignActor, TrafficLightActor } from '../world';
import { bodyFrame, drawBoxes, type BoxSpec } from './box';

const POLE: Rgb = [95, 98, 102];
const LAMP_ON: Record<TrafficLightActor['state'], Rgb> = { red: [255, 40, 30], amber: [255, 170, 20], green: [40, 255, 140] };
const LAMP_OFF: Record<TrafficLightActor['state'], Rgb> = { red: [70, 20, 18], amber: [70, 50, 15], green: [15, 55, 35] };

/** A vertical post as a billboard quad, `width` wide, from the ground to `top`. */
export function post(sketch: Sketch, x: number, z: number, top: number, width: number, color: Rgb, eye: Vec3, bottom = 0): void {
  const dx = x - eye[0];
  const dz = z - eye[2];
  const n = Math.hypot(dx, dz) || 1;
  const face = sketch.face({ origin: [x, 0, z], u: [dz / n, 0, -dx / n], v: [0, 1, 0] }, 1, 'occluder');
  face.fill(rect(-width / 2, bottom, width / 2, top), color);
}

export function drawTrafficLight(sketch: Sketch, actor: TrafficLightActor, z: number, eye: Vec3, glow: number): void {
  const { size, elevation } = actor;
  const height = size * 2.7;
  if (actor.mount === 'post') post(sketch, actor.x, z, elevation + 0.1, 0.13, POLE, eye);
  const frame = bodyFrame(actor.x, z, actor.facing, 0.32);
  const lamps = ['red', 'amber', 'green'] as const;
  const housing: BoxSpec = {
    a0: 0,
    a1: 0.32,
    halfWidth: size / 2,
    y0: elevation,
    y1: elevation + height,
    rearSlant: 0,
    frontSlant: 0,
    color: actor.housing,
    front: (face: Face, width: number) => {
      const margin = size * 0.22;
      face.fill(roundRect(-margin, -margin / height, width + margin, 1 + margin / height, size * 0.1), [22, 22, 24]);
      face.fill(roundRect(0, 0, width, 1, size * 0.12), actor.housing);
      lamps.forEach((color, i) => {
        const b = 1 - (i + 0.5) / 3;
        const centre: [number, number] = [width / 2, b];
        const outline = ellipseIn(centre, size * 0.33, (size * 0.33) / height);
        if (actor.state === color) {
          face.emit(outline, LAMP_ON[color]);
          face.glow(width / 2, b, size * 1.1, LAMP_ON[color], Math.max(0.12, glow * 1.2));
        } else {
          face.fill(outline, LAMP_OFF[color]);
        }
        face.fill(arc(width / 2, b + 0.1 / 2.7, size * 0.42, (size * 0.16) / height, 0, Math.PI, 8), [18, 18, 20]);
      });
    },
    rear: (face: Face, width: number) => {
      face.fill(roundRect(width * 0.2, 0.05, width * 0.8, 0.95, size * 0.05), [30, 30, 32], 0.9);
    },
  };
  drawBoxes(sketch, frame, [housing], eye);
}

function ellipseIn(centre: [number, number], ra: number, rb: number): Outline {
  const out: Outline = [];
  for (let i = 0; i < 16; i++) {
    const t = (2 * Math.PI * i) / 16;
    out.push(centre[0] + ra * Math.cos(t), centre[1] + rb * Math.sin(t));
  }
  return out;
}

function octagon(r: number): Outline {
  const out: Outline = [];
  for (let i = 0; i < 8; i++) {
    const t = Math.PI / 8 + (i * Math.PI) / 4;
    out.push(r * Math.cos(t), r * Math.sin(t));
  }
  return out;
}

/** "STOP" as white strokes, letters `h` high, centred on the origin. */
function stopLetters(face: Face, h: number, white: Rgb): void {
  const w = h * 0.19;
  const half = h * 0.36;
  const polyline = (points: number[]): void => {
    for (let i = 0; i + 3 < points.length; i += 2) face.fill(stroke(points[i] as number, points[i + 1] as number, points[i + 2] as number, points[i + 3] as number, w), white);
  };
  const spacing = h * 0.9;
  const at = (k: number): number => (k - 1.5) * spacing;
  // S: two opposite half turns.
  const s = at(0);
  polyline([...arc(s, h / 4, half - w / 2, h / 4 - w / 2, 0.3, 1.5 * Math.PI, 8), ...arc(s, -h / 4, half - w / 2, h / 4 - w / 2, 0.5 * Math.PI, -0.7 * Math.PI, 8)]);
  // T
  const t = at(1);
  face.fill(stroke(t - half, h / 2 - w / 2, t + half, h / 2 - w / 2, w), white);
  face.fill(stroke(t, h / 2 - w / 2, t, -h / 2 + w / 2, w), white);
  // O
  const o = at(2);
  polyline(arc(o, 0, half - w / 2, h / 2 - w / 2, 0, 2 * Math.PI, 16));
  // P
  const p = at(3);
  face.fill(stroke(p - half + w / 2, -h / 2 + w / 2, p - half + w / 2, h / 2 - w / 2, w), white);
  polyline(arc(p - half * 0.2, h / 4, half * 0.8 - w / 2, h / 4 - w / 2, 0.5 * Math.PI, -0.5 * Math.PI, 8));
}

export function drawStopSign(sketch: Sketch, actor: StopSignActor, z: number, eye: Vec3): void {
  const { radius: R, elevation } = actor;
  post(sketch, actor.x, z + 0.03, elevation - R * 0.6, 0.06, [150, 152, 156], eye);
  // The sign faces the camera's side of the road, turned by its yaw.
  const u: Vec3 = [Math.cos(actor.yaw), 0, -Math.sin(actor.yaw)];
  const face = sketch.face({ origin: [actor.x, elevation, z], u, v: [0, 1, 0] });
  const white: Rgb = [235, 235, 232];
  const red: Rgb = [190 - actor.faded * 40, 22 + actor.faded * 20, 28 + actor.faded * 20];
  face.fill(octagon(R), white);
  face.fill(octagon(R * 0.9), red);
  stopLetters(face, R * 0.42, white);
}
