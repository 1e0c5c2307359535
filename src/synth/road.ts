/**
 * The background every road user stands on: sky (with stars at night), a distant skyline, the ground, the road
 * surface with its sidewalks, cross streets and patches, the lane markings (which scroll towards the camera as the
 * ego car drives), and light from street lamps and the ego car's headlights at night. None of it is an instance.
 */
import type { SKRSContext2D } from '@napi-rs/canvas';
import { project, projectPolygon, type Camera, type Vec3 } from './camera';
import { css, hazed, lit, type Rgb } from './lighting';
import { hashSeed } from './random';
import { roadEdges, type PropActor, type World } from './world';

/** How far the road is drawn; at this distance it is within a pixel of the horizon. */
const FAR = 1500;
/** Markings farther than this are below a pixel wide and are not drawn. */
const MARKINGS_FAR = 220;

type Context = SKRSContext2D;

function polygon(ctx: Context, points: readonly number[], fill: string | CanvasGradientLike): void {
  if (points.length < 6) return;
  ctx.beginPath();
  ctx.moveTo(points[0] as number, points[1] as number);
  for (let i = 2; i < points.length; i += 2) ctx.lineTo(points[i] as number, points[i + 1] as number);
  ctx.closePath();
  ctx.fillStyle = fill as string;
  ctx.fill();
}

type CanvasGradientLike = ReturnType<Context['createLinearGradient']>;

class GroundPainter {
  constructor(
    readonly ctx: Context,
    readonly camera: Camera,
    readonly world: World,
  ) {}

  /** A rectangle on the road: x0..x1 across, s0..s1 along (road coordinates), at height y. */
  quad(x0: number, x1: number, s0: number, s1: number, fill: string, y = 0): void {
    const z0 = s0 - this.world.egoS;
    const z1 = Math.min(s1 - this.world.egoS, FAR);
    if (z1 <= this.camera.near) return;
    const points: Vec3[] = [
      [x0, y, z0],
      [x1, y, z0],
      [x1, y, z1],
      [x0, y, z1],
    ];
    polygon(this.ctx, projectPolygon(this.camera, points), fill);
  }

  surface(color: Readonly<Rgb>, shade = 1): string {
    return css(lit(this.world.lighting, color, shade));
  }
}

function paintSky(ctx: Context, world: World, camera: Camera): void {
  const { lighting } = world;
  const horizon = Math.max(1, camera.horizon);
  const gradient = ctx.createLinearGradient(0, 0, 0, horizon);
  for (const stop of lighting.sky) gradient.addColorStop(stop.at, css(stop.color));
  ctx.fillStyle = gradient;
  ctx.fillRect(0, 0, camera.width, Math.ceil(horizon) + 1);
  if (lighting.mode === 'night') {
    for (const [angle, rise, brightness] of world.stars) {
      const x = camera.cx + camera.focal * Math.tan(angle - camera.yaw);
      const y = camera.horizon - camera.focal * Math.tan(rise);
      if (x < 0 || x >= camera.width || y < 0 || y > camera.horizon - 3) continue;
      ctx.fillStyle = `rgba(255,255,240,${brightness.toFixed(2)})`;
      ctx.fillRect(Math.floor(x), Math.floor(y), 1, 1);
    }
  }
}

function paintSkyline(ctx: Context, world: World, camera: Camera): void {
  const { lighting } = world;
  const screenX = (angle: number): number => camera.cx + camera.focal * Math.tan(angle - camera.yaw);
  const lift = (rise: number): number => camera.horizon - camera.focal * Math.tan(rise);
  for (const shape of world.skyline) {
    const x0 = screenX(shape.from);
    const x1 = screenX(shape.to);
    if (x1 < 0 || x0 > camera.width) continue;
    const base: Rgb = shape.kind === 'building' ? [110, 115, 128] : shape.kind === 'hill' ? [95, 120, 90] : [55, 85, 50];
    const color = css(hazed(lighting, lit(lighting, base, shape.shade), shape.kind === 'hill' ? 0.55 : 0.4));
    const top = lift(shape.rise);
    if (shape.kind === 'building') {
      polygon(ctx, [x0, camera.horizon + 1, x1, camera.horizon + 1, x1, top, x0, top], color);
      if (world.lighting.windowsLit > 0 && x1 - x0 > 4) {
        ctx.fillStyle = css([220, 190, 120]);
        const rows = Math.floor((camera.horizon - top) / 3);
        const columns = Math.floor((x1 - x0) / 3);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < columns; c++) {
            if ((hashSeed(Math.round(shape.from * 1e4), r, c) % 1000) / 1000 < world.lighting.windowsLit * 0.3) ctx.fillRect(x0 + 1 + c * 3, top + 1 + r * 3, 1, 1);
          }
        }
      }
    } else {
      const points: number[] = [x0, camera.horizon + 1];
      const steps = 16;
      for (let i = 0; i <= steps; i++) {
        const t = i / steps;
        const bump = shape.kind === 'hill' ? Math.sin(Math.PI * t) : 0.6 + 0.4 * Math.abs(Math.sin(t * 23 + shape.from * 50));
        points.push(x0 + (x1 - x0) * t, camera.horizon - (camera.horizon - top) * bump);
      }
      points.push(x1, camera.horizon + 1);
      polygon(ctx, points, color);
    }
  }
}

function paintGround(ctx: Context, world: World, camera: Camera): void {
  const { lighting, road } = world;
  const near = css(lit(lighting, road.vergeColor));
  const far = css(hazed(lighting, lit(lighting, road.vergeColor), 0.6));
  const gradient = ctx.createLinearGradient(0, camera.horizon, 0, camera.height);
  gradient.addColorStop(0, far);
  gradient.addColorStop(0.25, near);
  gradient.addColorStop(1, near);
  ctx.fillStyle = gradient;
  ctx.fillRect(0, Math.floor(camera.horizon), camera.width, camera.height - Math.floor(camera.horizon));
}

function paintSurfaces(ground: GroundPainter, world: World): void {
  const { road } = world;
  const edges = roadEdges(road);
  const s0 = world.egoS - 30;
  const s1 = world.egoS + FAR;
  const sidewalk = ground.surface(road.sidewalk);
  const curb = ground.surface(road.sidewalk, 1.15);
  if (road.sidewalkRight > 0) {
    ground.quad(edges.curbRight, edges.outerRight, s0, s1, sidewalk);
    ground.quad(edges.curbRight, edges.curbRight + 0.18, s0, s1, curb);
  } else {
    ground.quad(edges.curbRight, edges.curbRight + 1.2, s0, s1, ground.surface([125, 115, 100]));
  }
  if (road.sidewalkLeft > 0) {
    ground.quad(edges.outerLeft, edges.curbLeft, s0, s1, sidewalk);
    ground.quad(edges.curbLeft - 0.18, edges.curbLeft, s0, s1, curb);
  } else {
    ground.quad(edges.curbLeft - 1.2, edges.curbLeft, s0, s1, ground.surface([125, 115, 100]));
  }
  const asphalt = ground.surface(road.asphalt);
  ground.quad(edges.curbLeft, edges.curbRight, s0, s1, asphalt);
  for (const cross of road.intersections) {
    if (cross.s + cross.width / 2 < s0 || cross.s - cross.width / 2 - 3 > world.egoS + MARKINGS_FAR * 2) continue;
    const a = cross.s - cross.width / 2;
    const b = cross.s + cross.width / 2;
    if (road.sidewalkRight > 0 || road.sidewalkLeft > 0) {
      ground.quad(-400, 400, a - 2.5, a, sidewalk);
      ground.quad(-400, 400, b, b + 2.5, sidewalk);
    }
    ground.quad(-400, 400, a, b, asphalt);
    ground.quad(edges.curbLeft, edges.curbRight, a - 2.5, b + 2.5, asphalt);
  }
  for (const [p0, p1, x0, x1, shade] of road.patches) {
    if (p1 < s0 || p0 > world.egoS + MARKINGS_FAR) continue;
    ground.quad(x0, x1, p0, p1, ground.surface(road.asphalt, shade));
  }
}

/** Along-road spans [s0, s1] between intersections, so lines stop at cross streets. */
function openSpans(world: World, s0: number, s1: number, margin: number): [number, number][] {
  const spans: [number, number][] = [];
  let start = s0;
  const crossings = [...world.road.intersections].sort((a, b) => a.s - b.s);
  for (const cross of crossings) {
    const a = cross.s - cross.width / 2 - margin;
    const b = cross.s + cross.width / 2 + margin;
    if (b < start || a > s1) continue;
    if (a > start) spans.push([start, a]);
    start = Math.max(start, b);
  }
  if (start < s1) spans.push([start, s1]);
  return spans;
}

function paintMarkings(ground: GroundPainter, world: World): void {
  const { road } = world;
  const edges = roadEdges(road);
  const paint = road.paint;
  const white = ground.surface([225 * paint + 90 * (1 - paint), 225 * paint + 90 * (1 - paint), 220 * paint + 90 * (1 - paint)]);
  const yellow = ground.surface([road.yellow[0] * paint + 90 * (1 - paint), road.yellow[1] * paint + 90 * (1 - paint), road.yellow[2] * paint + 90 * (1 - paint)]);
  const s0 = world.egoS - 20;
  const s1 = world.egoS + MARKINGS_FAR;
  const spans = openSpans(world, s0, s1, 3);
  const solid = (x: number, width: number, fill: string): void => {
    for (const [a, b] of spans) ground.quad(x - width / 2, x + width / 2, a, b, fill, 0.005);
  };
  const period = road.dashLength + road.dashGap;
  const dashed = (x: number, width: number, fill: string): void => {
    for (const [a, b] of spans) {
      for (let s = Math.ceil(a / period) * period; s < b; s += period) ground.quad(x - width / 2, x + width / 2, s, Math.min(b, s + road.dashLength), fill, 0.005);
    }
  };
  if (road.lanesOncoming > 0) {
    switch (road.centreLine) {
      case 'double-yellow':
        solid(-0.13, 0.11, yellow);
        solid(0.13, 0.11, yellow);
        break;
      case 'dashed-yellow':
        dashed(0, 0.13, yellow);
        break;
      case 'dashed-white':
        dashed(0, 0.13, white);
        break;
      case 'none':
        break;
    }
  } else {
    solid(edges.left + 0.15, 0.12, yellow);
  }
  for (let i = 1; i < road.lanesAhead; i++) dashed(i * road.laneWidth, 0.12, white);
  for (let i = 1; i < road.lanesOncoming; i++) dashed(-i * road.laneWidth, 0.12, white);
  solid(edges.right - 0.12, 0.13, white);
  if (road.lanesOncoming > 0) solid(edges.left + 0.12, 0.13, white);
  for (const cross of road.intersections) {
    const a = cross.s - cross.width / 2;
    const b = cross.s + cross.width / 2;
    if (b < s0 || a > s1) continue;
    if (cross.crosswalk) {
      for (let x = edges.curbLeft + 0.4; x + 0.5 < edges.curbRight; x += 1.1) {
        ground.quad(x, x + 0.55, a - 4, a - 1, white, 0.005);
        ground.quad(x, x + 0.55, b + 1, b + 4, white, 0.005);
      }
    }
    if (cross.control !== 'none') ground.quad(0.2, edges.right, a - (cross.crosswalk ? 5 : 2) - 0.45, a - (cross.crosswalk ? 5 : 2), white, 0.005);
  }
}

/** Light pools at night: under street lamps, and the ego car's own headlights. */
function paintLightPools(ctx: Context, world: World, camera: Camera): void {
  const glow = world.lighting.mode === 'night' ? 1 : world.lighting.mode === 'dusk' ? 0.5 : 0;
  if (glow === 0) return;
  const pool = (x: number, z: number, radius: number, color: Rgb, strength: number): void => {
    if (z < 1) return;
    const [px, py] = project(camera, [x, 0, z]);
    const rx = (camera.focal * radius) / z;
    const ry = Math.max(1, rx * (camera.elevation / z) * 1.2);
    if (px + rx < 0 || px - rx > camera.width || py - ry > camera.height) return;
    ctx.save();
    ctx.translate(px, py);
    ctx.scale(1, ry / rx);
    const gradient = ctx.createRadialGradient(0, 0, 0, 0, 0, rx);
    gradient.addColorStop(0, `rgba(${color[0]},${color[1]},${color[2]},${(0.28 * strength).toFixed(3)})`);
    gradient.addColorStop(1, `rgba(${color[0]},${color[1]},${color[2]},0)`);
    ctx.fillStyle = gradient;
    ctx.globalCompositeOperation = 'lighter';
    ctx.beginPath();
    ctx.arc(0, 0, rx, 0, 2 * Math.PI);
    ctx.fill();
    ctx.restore();
  };
  for (const actor of world.actors) {
    if (actor.kind !== 'lamp') continue;
    const lamp = actor as PropActor;
    pool(lamp.x + lamp.reach, lamp.s - world.egoS, 7, [255, 210, 150], glow);
  }
  pool(camera.x, 14, 9, [255, 245, 220], glow * 0.6);
  pool(camera.x, 30, 8, [255, 245, 220], glow * 0.3);
}

export function paintBackground(ctx: Context, world: World, camera: Camera): void {
  ctx.globalCompositeOperation = 'source-over';
  paintSky(ctx, world, camera);
  paintSkyline(ctx, world, camera);
  paintGround(ctx, world, camera);
  const ground = new GroundPainter(ctx, camera, world);
  paintSurfaces(ground, world);
  paintMarkings(ground, world);
  paintLightPools(ctx, world, camera);
}
