/**
 * Street furniture that is no instance but hides what is behind it: utility poles, street lamps, signal masts,
 * trees, bushes, direction signs and buildings.
 */
import type { Vec3 } from '../camera';
import { circle, rect, roundRect } from '../geometry';
import type { Rgb } from '../lighting';
import type { Sketch } from '../sketch';
import type { BuildingActor, PropActor } from '../world';
import { hashSeed } from '../random';
import { bodyFrame, drawBoxes, type BoxSpec } from './box';
import { post } from './signals';

/** A face through (x, z) turned towards the camera, for round things (trunks, crowns). */
function billboard(sketch: Sketch, x: number, z: number, eye: Vec3, shade = 1) {
  const dx = x - eye[0];
  const dz = z - eye[2];
  const n = Math.hypot(dx, dz) || 1;
  return sketch.face({ origin: [x, 0, z], u: [dz / n, 0, -dx / n], v: [0, 1, 0] }, shade, 'occluder');
}

/** A face across the road at depth z (u along +x): arms and signs that span the road. */
function across(sketch: Sketch, z: number) {
  return sketch.face({ origin: [0, 0, z], u: [1, 0, 0], v: [0, 1, 0] }, 1, 'occluder');
}

export function drawProp(sketch: Sketch, actor: PropActor, z: number, eye: Vec3, glow: number): void {
  const { x, height, color } = actor;
  switch (actor.kind) {
    case 'pole': {
      post(sketch, x, z, height, 0.26, color, eye);
      across(sketch, z).fill(rect(x - 0.9, height - 0.7, x + 0.9, height - 0.58), color, 0.9);
      return;
    }
    case 'lamp': {
      post(sketch, x, z, height, 0.16, color, eye);
      const face = across(sketch, z);
      const end = x + actor.reach;
      face.fill(rect(Math.min(x, end), height - 0.1, Math.max(x, end), height), color);
      const head = rect(end - 0.35, height - 0.22, end + 0.35, height - 0.05);
      face.fill(head, [70, 72, 76]);
      if (glow > 0.2) {
        face.emit(rect(end - 0.3, height - 0.26, end + 0.3, height - 0.2), [255, 225, 170]);
        face.glow(end, height - 0.3, 0.9, [255, 215, 150], glow * 0.7);
      }
      return;
    }
    case 'mast': {
      post(sketch, x, z, height, 0.28, color, eye);
      const face = across(sketch, z + 0.05);
      const end = x + actor.reach;
      face.fill(rect(Math.min(x, end), height - 0.45, Math.max(x, end), height - 0.25), color);
      return;
    }
    case 'signpost': {
      const width = actor.reach;
      post(sketch, x - width * 0.35, z + 0.02, height - 0.6, 0.08, [140, 142, 146], eye);
      post(sketch, x + width * 0.35, z + 0.02, height - 0.6, 0.08, [140, 142, 146], eye);
      const face = across(sketch, z);
      face.fill(roundRect(x - width / 2, height - 1.3, x + width / 2, height, 0.08), color);
      face.fill(roundRect(x - width / 2 + 0.06, height - 1.24, x + width / 2 - 0.06, height - 0.06, 0.06), [235, 235, 235]);
      face.fill(roundRect(x - width / 2 + 0.1, height - 1.2, x + width / 2 - 0.1, height - 0.1, 0.05), color);
      for (let line = 0; line < 3; line++) {
        const y = height - 0.35 - line * 0.33;
        const length = width * (0.45 + 0.35 * ((hashSeed(Math.round(actor.s * 100), line) % 100) / 100));
        face.fill(rect(x - width / 2 + 0.25, y - 0.08, x - width / 2 + 0.25 + length, y + 0.06), [235, 235, 235]);
      }
      return;
    }
    case 'tree': {
      const trunkTop = height;
      billboard(sketch, x, z, eye).fill(rect(-0.15, 0, 0.15, trunkTop + 0.4), [85, 65, 48]);
      const crown = billboard(sketch, x, z - 0.05, eye);
      actor.blobs.forEach(([dx, dy, r], i) => crown.fill(circle(dx, trunkTop + dy, r, 18), color, 0.8 + 0.1 * (i % 3)));
      return;
    }
    case 'bush': {
      const face = billboard(sketch, x, z, eye);
      actor.blobs.forEach(([dx, dy, r], i) => face.fill(circle(dx, dy, r, 14), color, 0.75 + 0.12 * (i % 3)));
      return;
    }
  }
}

export function drawBuilding(sketch: Sketch, actor: BuildingActor, egoS: number, eye: Vec3, windowsLit: number): void {
  const length = actor.s1 - actor.s0;
  const centreX = actor.x + (actor.side * actor.depth) / 2;
  const frame = bodyFrame(centreX, (actor.s0 + actor.s1) / 2 - egoS, 0, length);
  const glass: Rgb = [45, 55, 70];
  const warm: Rgb = [250, 215, 150];
  const lit = (floor: number, column: number): boolean => (hashSeed(actor.windowSeed, floor, column) % 1000) / 1000 < windowsLit;
  const box: BoxSpec = {
    a0: 0,
    a1: length,
    halfWidth: actor.depth / 2,
    y0: 0,
    y1: actor.height,
    rearSlant: 0,
    frontSlant: 0,
    color: actor.color,
    side: (face) => {
      const floors = Math.floor((actor.height - 0.6) / actor.storey);
      const columns = Math.max(1, Math.floor((length - 1) / actor.windowSpacing));
      const margin = (length - columns * actor.windowSpacing) / 2;
      for (let floor = actor.shopfront ? 1 : 0; floor < floors; floor++) {
        const y = floor * actor.storey + actor.storey * 0.35;
        for (let column = 0; column < columns; column++) {
          const a = margin + (column + 0.5) * actor.windowSpacing;
          const outline = rect(a - actor.windowWidth / 2, y, a + actor.windowWidth / 2, y + actor.storey * 0.45);
          if (lit(floor, column)) face.emit(outline, warm);
          else face.fill(outline, glass);
        }
      }
      if (actor.shopfront) {
        face.fill(rect(0.3, 0, length - 0.3, 0.25), [60, 60, 62]);
        face.fill(rect(0.5, 0.25, length - 0.5, actor.storey * 0.8), lit(99, 0) ? warm : glass);
        face.fill(rect(0, actor.storey * 0.8, length, actor.storey), [40, 40, 44]);
      }
    },
    rear: (face, width) => {
      const floors = Math.floor((actor.height - 0.6) / actor.storey);
      for (let floor = 0; floor < floors; floor++) {
        const b = (floor * actor.storey + actor.storey * 0.35) / actor.height;
        const outline = rect(width * 0.3, b, width * 0.3 + actor.windowWidth, b + (actor.storey * 0.45) / actor.height);
        if (lit(floor, -1)) face.emit(outline, warm);
        else face.fill(outline, glass);
      }
    },
  };
  drawBoxes(sketch, frame, [box], eye, 'occluder');
}
