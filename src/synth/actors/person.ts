/**
 * People: a skeleton posed in 3-D (walking, standing, riding) and drawn on a billboard facing the camera, limbs as
 * tapered strokes sorted far to near. Because the joints are posed in the person's own frame and then projected,
 * the same code gives front, back and profile views, and a rider's hands and feet land on the handlebar and pedals.
 */
import type { Vec3 } from '../camera';
import { arc, ellipse, type Outline } from '../geometry';
import type { Rgb } from '../lighting';
import type { Face, Sketch } from '../sketch';
import type { PersonActor, PersonLook } from '../world';

/** Where a rider's body meets the machine, world coordinates. */
export interface Mount {
  seat: Vec3;
  /** Left and right grips, left and right foot rests (pedals or pegs). */
  grips: [Vec3, Vec3];
  feet: [Vec3, Vec3];
  forward: Vec3;
  right: Vec3;
  /** Forward lean of the back, radians from upright. */
  lean: number;
}

interface Joints {
  head: Vec3;
  neck: Vec3;
  shoulders: [Vec3, Vec3];
  hips: [Vec3, Vec3];
  elbows: [Vec3, Vec3];
  hands: [Vec3, Vec3];
  knees: [Vec3, Vec3];
  ankles: [Vec3, Vec3];
  toes: [Vec3, Vec3];
  forward: Vec3;
}

function add(a: Vec3, b: Vec3, k = 1): Vec3 {
  return [a[0] + b[0] * k, a[1] + b[1] * k, a[2] + b[2] * k];
}

function mid(a: Vec3, b: Vec3): Vec3 {
  return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2];
}

/** Knee or elbow between two ends of a limb of segments `upper` and `lower`, bent towards `bend`. */
function joint(from: Vec3, to: Vec3, upper: number, lower: number, bend: Vec3): Vec3 {
  const d: Vec3 = [to[0] - from[0], to[1] - from[1], to[2] - from[2]];
  const length = Math.hypot(d[0], d[1], d[2]) || 1e-6;
  const reach = Math.min(length, upper + lower - 1e-3);
  // Distance along the line to the foot of the joint, and the joint's offset from the line (law of cosines).
  const along = (upper * upper - lower * lower + reach * reach) / (2 * reach);
  const offset = Math.sqrt(Math.max(0, upper * upper - along * along));
  const unit: Vec3 = [d[0] / length, d[1] / length, d[2] / length];
  // Component of `bend` perpendicular to the limb.
  const k = bend[0] * unit[0] + bend[1] * unit[1] + bend[2] * unit[2];
  let perp: Vec3 = [bend[0] - k * unit[0], bend[1] - k * unit[1], bend[2] - k * unit[2]];
  const n = Math.hypot(perp[0], perp[1], perp[2]) || 1;
  perp = [perp[0] / n, perp[1] / n, perp[2] / n];
  return add(add(from, unit, along), perp, offset);
}

/** Joints of someone walking (or standing, when `stride` is 0) at ground point `at`. */
function walkingJoints(look: PersonLook, at: Vec3, forward: Vec3, right: Vec3, phase: number, stride: number): Joints {
  const H = look.height;
  const thigh = 0.245 * H;
  const shin = 0.235 * H;
  const hipWidth = look.build * H * 0.36;
  const shoulderWidth = look.build * H * 0.5;
  const legs = [0, 1].map((side) => {
    const p = phase + side * Math.PI;
    const swing = 0.38 * stride * Math.sin(p);
    const bend = 0.75 * stride * Math.max(0, Math.cos(p));
    const lateral = (side === 0 ? -1 : 1) * hipWidth;
    const kneeF = thigh * Math.sin(swing);
    const kneeY = -thigh * Math.cos(swing);
    const shinAngle = swing - bend;
    const ankleF = kneeF + shin * Math.sin(shinAngle);
    const ankleY = kneeY - shin * Math.cos(shinAngle);
    return { lateral, kneeF, kneeY, ankleF, ankleY };
  });
  const lowest = Math.min(...legs.map((leg) => leg.ankleY));
  const hipHeight = 0.045 * H - lowest;
  const bob = hipHeight;
  const point = (f: number, l: number, y: number): Vec3 => add(add(add(at, forward, f), right, l), [0, 1, 0], y);
  const hips = legs.map((leg) => point(0, leg.lateral, bob)) as [Vec3, Vec3];
  const knees = legs.map((leg) => point(leg.kneeF, leg.lateral * 1.05, bob + leg.kneeY)) as [Vec3, Vec3];
  const ankles = legs.map((leg) => point(leg.ankleF, leg.lateral * 1.1, bob + leg.ankleY)) as [Vec3, Vec3];
  const toes = ankles.map((ankle) => add(add(ankle, forward, 0.07 * H), [0, 1, 0], -0.03 * H)) as [Vec3, Vec3];
  const shoulderY = bob + 0.315 * H;
  const shoulders = [point(0, -shoulderWidth / 2, shoulderY), point(0, shoulderWidth / 2, shoulderY)] as [Vec3, Vec3];
  const arms = [0, 1].map((side) => {
    const p = phase + side * Math.PI;
    const swing = -0.32 * stride * Math.sin(p);
    const lateral = (side === 0 ? -1 : 1) * (shoulderWidth / 2 + 0.012 * H);
    const elbow = point(0.19 * H * Math.sin(swing), lateral, shoulderY - 0.19 * H * Math.cos(swing));
    const fore = swing + 0.15 + 0.2 * stride;
    const hand = add(add(elbow, forward, 0.175 * H * Math.sin(fore)), [0, 1, 0], -0.175 * H * Math.cos(fore));
    return { elbow, hand };
  });
  const neck = point(0, 0, shoulderY + 0.05 * H);
  const head = point(0.01 * H, 0, shoulderY + 0.115 * H);
  return {
    head,
    neck,
    shoulders,
    hips,
    elbows: [arms[0].elbow, arms[1].elbow],
    hands: [arms[0].hand, arms[1].hand],
    knees,
    ankles,
    toes,
    forward,
  };
}

/** Joints of a rider sitting on `mount`. */
function ridingJoints(look: PersonLook, mount: Mount): Joints {
  const H = look.height;
  const { forward, right } = mount;
  const hipWidth = look.build * H * 0.36;
  const shoulderWidth = look.build * H * 0.5;
  const up: Vec3 = [0, 1, 0];
  const hipCentre = add(mount.seat, up, 0.04);
  const spine = 0.34 * H;
  const shoulderCentre = add(add(hipCentre, forward, spine * Math.sin(mount.lean)), up, spine * Math.cos(mount.lean));
  const hips = [add(hipCentre, right, -hipWidth), add(hipCentre, right, hipWidth)] as [Vec3, Vec3];
  const shoulders = [add(shoulderCentre, right, -shoulderWidth / 2), add(shoulderCentre, right, shoulderWidth / 2)] as [Vec3, Vec3];
  const ankles = mount.feet;
  const knees = [0, 1].map((i) => joint(hips[i] as Vec3, ankles[i] as Vec3, 0.245 * H, 0.235 * H, add(forward, up, 0.6))) as [Vec3, Vec3];
  const toes = ankles.map((ankle) => add(ankle, forward, 0.07 * H)) as [Vec3, Vec3];
  const hands = mount.grips;
  const elbows = [0, 1].map((i) => joint(shoulders[i] as Vec3, hands[i] as Vec3, 0.19 * H, 0.175 * H, add(add(up, forward, -0.3), right, i === 0 ? -0.5 : 0.5))) as [Vec3, Vec3];
  const neck = add(shoulderCentre, add(up, forward, 0.3), 0.05 * H);
  const head = add(add(shoulderCentre, up, 0.11 * H), forward, 0.04 * H + 0.06 * H * Math.sin(mount.lean));
  return { head, neck, shoulders, hips, elbows, hands, knees, ankles, toes, forward };
}

interface Stroke {
  depth: number;
  draw(): void;
}

/** A limb segment from p to q, `w0` wide at p and `w1` at q; with `cap`, rounded at q (a knee, an elbow). */
function taper(p: [number, number], q: [number, number], w0: number, w1: number, cap = false): Outline {
  const da = q[0] - p[0];
  const db = q[1] - p[1];
  const length = Math.hypot(da, db) || 1e-6;
  const na = -db / length;
  const nb = da / length;
  const out = [p[0] + (na * w0) / 2, p[1] + (nb * w0) / 2, q[0] + (na * w1) / 2, q[1] + (nb * w1) / 2];
  if (cap) {
    // Half a circle around q, from the +n side over the far end to the -n side.
    const start = Math.atan2(nb, na);
    for (let i = 1; i < 6; i++) {
      const t = start - (Math.PI * i) / 6;
      out.push(q[0] + (Math.cos(t) * w1) / 2, q[1] + (Math.sin(t) * w1) / 2);
    }
  }
  out.push(q[0] - (na * w1) / 2, q[1] - (nb * w1) / 2, p[0] - (na * w0) / 2, p[1] - (nb * w0) / 2);
  return out;
}

function disc(p: [number, number], r: number, segments = 10): Outline {
  return ellipse(p[0], p[1], r, r, segments);
}

/**
 * Draws a person, walking or standing, or riding `mount`. `eye` is the camera position (camera-relative world
 * coordinates), `at` the person's ground point.
 */
export function drawPerson(sketch: Sketch, actor: PersonActor, at: Vec3, eye: Vec3, mount: Mount | null): void {
  const { look } = actor;
  const H = look.height;
  const forward: Vec3 = [Math.sin(actor.heading), 0, Math.cos(actor.heading)];
  const right: Vec3 = [Math.cos(actor.heading), 0, -Math.sin(actor.heading)];
  const stride = mount ? 0 : Math.min(1, actor.speed / 1.2);
  const joints = mount ? ridingJoints(look, mount) : walkingJoints(look, at, forward, right, actor.phase, stride);

  // The billboard: through the body's middle, at right angles to the line of sight.
  const centre = mid(joints.hips[0], joints.hips[1]);
  const base: Vec3 = [centre[0], 0, centre[2]];
  const dx = base[0] - eye[0];
  const dz = base[2] - eye[2];
  const n = Math.hypot(dx, dz) || 1;
  const u: Vec3 = [dz / n, 0, -dx / n];
  const view: Vec3 = [dx / n, 0, dz / n];
  const face = sketch.face({ origin: base, u, v: [0, 1, 0] });
  const flat = (p: Vec3): [number, number] => [(p[0] - base[0]) * u[0] + (p[2] - base[2]) * u[2], p[1]];
  const depth = (p: Vec3): number => (p[0] - base[0]) * view[0] + (p[2] - base[2]) * view[2];
  // How much the person faces the camera (1: facing it, -1: back to it), and which way the profile looks.
  const facing = -(forward[0] * view[0] + forward[2] * view[2]);
  const profileSign = forward[0] * u[0] + forward[2] * u[2] >= 0 ? 1 : -1;

  const strokes: Stroke[] = [];
  const limb = (p: Vec3, q: Vec3, w0: number, w1: number, color: Rgb, extraDepth = 0): void => {
    strokes.push({
      depth: (depth(p) + depth(q)) / 2 + extraDepth,
      draw: () => {
        const a = flat(p);
        const b = flat(q);
        face.fill(taper(a, b, w0, w1, true), color);
      },
    });
  };
  const leg = look.legs === 'trousers' ? look.bottom : look.skin;
  const thighColor = look.legs === 'skirt' ? look.skin : look.bottom;
  const sleeve = look.top;
  const forearm = look.longSleeves ? look.top : look.skin;
  for (const i of [0, 1]) {
    limb(joints.hips[i] as Vec3, joints.knees[i] as Vec3, 0.1 * H, 0.068 * H, thighColor);
    limb(joints.knees[i] as Vec3, joints.ankles[i] as Vec3, 0.068 * H, 0.045 * H, look.legs === 'shorts' ? look.skin : leg);
    limb(joints.ankles[i] as Vec3, joints.toes[i] as Vec3, 0.05 * H, 0.042 * H, look.shoes, -0.01);
    limb(joints.shoulders[i] as Vec3, joints.elbows[i] as Vec3, 0.062 * H, 0.05 * H, sleeve, -0.02);
    limb(joints.elbows[i] as Vec3, joints.hands[i] as Vec3, 0.05 * H, 0.04 * H, forearm, -0.02);
  }
  const torsoDepth = depth(mid(joints.shoulders[0], joints.shoulders[1]));
  strokes.push({
    depth: torsoDepth,
    draw: () => {
      const hipL = flat(joints.hips[0]);
      const hipR = flat(joints.hips[1]);
      const shL = flat(joints.shoulders[0]);
      const shR = flat(joints.shoulders[1]);
      const hipMid: [number, number] = [(hipL[0] + hipR[0]) / 2, (hipL[1] + hipR[1]) / 2];
      const shMid: [number, number] = [(shL[0] + shR[0]) / 2, (shL[1] + shR[1]) / 2];
      const thickness = 0.15 * H;
      const hipWidth = Math.max(Math.abs(hipR[0] - hipL[0]) + 0.1 * H, thickness);
      const shoulderWidth = Math.max(Math.abs(shR[0] - shL[0]) + 0.06 * H, thickness);
      if (look.legs === 'skirt') {
        const knee = flat(mid(joints.knees[0], joints.knees[1]));
        face.fill(taper([hipMid[0], hipMid[1] + 0.02 * H], [knee[0], knee[1] + 0.04 * H], hipWidth, hipWidth * 1.35), look.bottom);
      } else {
        face.fill(taper([hipMid[0], hipMid[1] - 0.02 * H], [hipMid[0], hipMid[1] + 0.06 * H], hipWidth, hipWidth), look.bottom);
      }
      face.fill(taper(hipMid, shMid, hipWidth * 0.95, shoulderWidth), look.top);
      face.fill(disc(shL, 0.035 * H), look.top);
      face.fill(disc(shR, 0.035 * H), look.top);
    },
  });
  const headDepth = depth(joints.head) - 0.05;
  strokes.push({
    depth: headDepth,
    draw: () => {
      const neck = flat(joints.neck);
      const head = flat(joints.head);
      face.fill(taper(neck, head, 0.05 * H, 0.05 * H), look.skin, 0.9);
      drawHead(face, head, H, look, facing, profileSign);
    },
  });
  // Hands, after the arms they end.
  strokes.sort((a, b) => b.depth - a.depth);
  for (const stroke of strokes) stroke.draw();
  for (const i of [0, 1]) {
    if (depth(joints.hands[i] as Vec3) < torsoDepth + 0.05) face.fill(disc(flat(joints.hands[i] as Vec3), 0.024 * H, 8), look.skin);
  }
}

function drawHead(face: Face, head: [number, number], H: number, look: PersonLook, facing: number, profileSign: number): void {
  const ra = 0.052 * H;
  const rb = 0.064 * H;
  const [a, b] = head;
  if (look.helmet) {
    // Seen from behind, all helmet; otherwise the face shows under it.
    face.fill(ellipse(a, b, ra, rb, 16), facing < -0.45 ? look.helmet : look.skin);
    face.fill(arc(a, b + 0.005 * H, ra * 1.22, rb * 1.15, -0.15, Math.PI + 0.15, 12), look.helmet);
    return;
  }
  if (facing < -0.45) {
    face.fill(ellipse(a, b, ra, rb, 16), look.hair);
    return;
  }
  face.fill(ellipse(a, b, ra, rb, 16), look.skin);
  if (facing > 0.45) {
    face.fill(arc(a, b, ra * 1.06, rb * 1.08, -0.25, Math.PI + 0.25, 12), look.hair);
  } else {
    // Profile: hair over the top and the back of the head.
    const back = profileSign > 0 ? Math.PI : 0;
    face.fill([...arc(a, b, ra * 1.06, rb * 1.08, 0.35, Math.PI - 0.35, 10), a - profileSign * ra * 0.2, b], look.hair);
    face.fill(arc(a, b, ra * 1.05, rb * 1.02, back - 1.3 * profileSign, back + 0.9 * profileSign, 8), look.hair);
  }
}
