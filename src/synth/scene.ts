/**
 * Rendering a world: the road first, then every road user and piece of street furniture far to near (painter's
 * algorithm), each painted with canvas and rasterized into the occlusion buffer from the same polygons; then the
 * sensor's blur and noise. What is left of each instance in the occlusion buffer is its exact visible mask.
 */
import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { BinaryMask } from '../track/mask-iou';
import { drawPerson, type Mount } from './actors/person';
import { drawProp, drawBuilding } from './actors/roadside';
import { drawStopSign, drawTrafficLight } from './actors/signals';
import { drawTwoWheeler, mountOf } from './actors/two-wheeler';
import { drawVehicle } from './actors/vehicle';
import type { Camera, Vec3 } from './camera';
import { classId, SYNTH_CLASSES, type SynthClass } from './classes';
import type { LightingMode } from './lighting';
import { MAX_INSTANCES, OCCLUDER, OcclusionBuffer } from './occlusion';
import { hashSeed } from './random';
import { paintBackground } from './road';
import { addNoise, boxBlur } from './sensor';
import { Sketch, type Part } from './sketch';
import { createWorld, type LayoutOptions } from './street';
import type { Actor, Setting, TwoWheelerActor, World } from './world';

/** One object's ground truth: its visible mask (cropped), the mask's bounds, its class. */
export interface SceneInstance {
  /** The road user's id: unique within a scene and kept across a clip's frames. */
  id: number;
  classId: number;
  label: SynthClass;
  /** x1, y1, x2, y2 of the visible mask, right and bottom edges exclusive. */
  box: [number, number, number, number];
  mask: BinaryMask;
  /** Visible pixels. */
  area: number;
  /**
   * Too little of it shows to judge a detector by (fewer than `ignoreArea` visible pixels): evaluation counts neither
   * finding nor missing it, like a COCO crowd region (iscrowd 1) or Cityscapes' instances under 100 pixels.
   */
  ignore: boolean;
}

export interface RenderedScene {
  width: number;
  height: number;
  /** RGBA, row-major, opaque. */
  image: Uint8Array;
  instances: SceneInstance[];
  lighting: LightingMode;
  setting: Setting;
}

export interface RenderOptions {
  /** Leave these road users out (the tests render a scene without one object to see what it changed). */
  omit?: ReadonlySet<number>;
  /** Instances with fewer visible pixels are left out of the ground truth (default 30). */
  minArea?: number;
  /** Instances with fewer visible pixels are marked `ignore` (default 100); 0 scores every instance. */
  ignoreArea?: number;
  /** Frame number, for noise that changes from frame to frame in a clip. */
  frame?: number;
}

export const DEFAULT_MIN_AREA = 30;
/** Cityscapes' instance evaluation ignores ground truth under 100 pixels: a 10x10 blob has no shape to segment. */
export const DEFAULT_IGNORE_AREA = 100;

const INSTANCE_KINDS = new Set<string>(SYNTH_CLASSES);

/** The camera for the world's current moment: the rig, swaying a little over time in clips. */
export function cameraFor(world: World): Camera {
  const { rig, time } = world;
  const sway = rig.swayYaw * (0.7 * Math.sin((2 * Math.PI * time) / 6.3) + 0.3 * Math.sin((2 * Math.PI * time) / 2.2 + 1.3));
  const bounce = rig.bounce * (0.6 * Math.sin(2 * Math.PI * time * 1.9) + 0.4 * Math.sin(2 * Math.PI * time * 3.7 + 0.5));
  return {
    width: world.width,
    height: world.height,
    focal: rig.focal,
    cx: world.width / 2,
    horizon: rig.horizon * world.height + bounce,
    elevation: rig.elevation,
    x: world.egoX,
    yaw: rig.yaw + sway,
    near: 0.5,
  };
}

interface Drawable {
  actor: Actor;
  layer: number;
  key: number;
  sketch: Sketch;
}

/** Distance from the eye to the nearest point of an actor's footprint, in the ground plane. */
function footprintDistance(actor: Actor, z: number, eye: Vec3): number {
  let halfLength = 0.2;
  let halfWidth = 0.2;
  if (actor.kind === 'car' || actor.kind === 'truck' || actor.kind === 'bus') {
    halfLength = actor.look.length / 2;
    halfWidth = actor.look.width / 2;
  } else if (actor.kind === 'bicycle' || actor.kind === 'motorcycle') {
    halfLength = actor.look.length / 2;
    halfWidth = 0.3;
  }
  const dx = eye[0] - actor.x;
  const dz = eye[2] - z;
  const sin = Math.sin(actor.heading);
  const cos = Math.cos(actor.heading);
  const along = dx * sin + dz * cos;
  const across = dx * cos - dz * sin;
  const a = Math.max(0, Math.abs(along) - halfLength);
  const b = Math.max(0, Math.abs(across) - halfWidth);
  return Math.hypot(a, b);
}

function fillPart(ctx: SKRSContext2D, part: Part): void {
  const points = part.points;
  ctx.beginPath();
  ctx.moveTo(points[0] as number, points[1] as number);
  for (let i = 2; i < points.length; i += 2) ctx.lineTo(points[i] as number, points[i + 1] as number);
  ctx.closePath();
  ctx.fillStyle = part.fill;
  ctx.fill();
}

/** Renders worlds of one size; reuses its canvas and buffers from one frame to the next. */
export class SceneRenderer {
  private readonly canvas: Canvas;
  private readonly context: SKRSContext2D;
  private readonly occlusion: OcclusionBuffer;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.canvas = createCanvas(width, height);
    this.context = this.canvas.getContext('2d');
    this.occlusion = new OcclusionBuffer(width, height);
  }

  render(world: World, options: RenderOptions = {}): RenderedScene {
    if (world.width !== this.width || world.height !== this.height) {
      throw new RangeError(`renderer is ${this.width}x${this.height}, the world ${world.width}x${world.height}`);
    }
    const ctx = this.context;
    const camera = cameraFor(world);
    const eye: Vec3 = [camera.x, camera.elevation, 0];
    const { lighting } = world;
    const glow = lighting.mode === 'night' ? 1 : lighting.mode === 'dusk' ? 0.5 : 0.06;
    const omit = options.omit ?? new Set<number>();
    paintBackground(ctx, world, camera);

    const byId = new Map(world.actors.map((actor) => [actor.id, actor]));
    let facadeLeft = -Infinity;
    let facadeRight = Infinity;
    for (const actor of world.actors) {
      if (actor.kind !== 'building') continue;
      if (actor.side > 0) facadeRight = Math.min(facadeRight, actor.x);
      else facadeLeft = Math.max(facadeLeft, actor.x);
    }
    const windowsLit = (id: number): boolean => (hashSeed(id, 7) % 1000) / 1000 < lighting.windowsLit;
    const drawables: Drawable[] = [];
    for (const actor of world.actors) {
      if (omit.has(actor.id)) continue;
      const z = actor.s - world.egoS;
      if (actor.kind === 'building') {
        if (actor.s1 - world.egoS < -5 || actor.s0 - world.egoS > 600) continue;
      } else if (z < -30 || z > 500) {
        continue;
      }
      const haze = Math.min(0.85, 1 - Math.exp(-Math.max(0, z) / world.visibility));
      const sketch = new Sketch(camera, lighting, haze);
      let key = footprintDistance(actor, z, eye);
      switch (actor.kind) {
        case 'car':
        case 'truck':
        case 'bus':
          drawVehicle({ sketch, eye, glow, windowsLit }, actor, z);
          break;
        case 'bicycle':
        case 'motorcycle':
          drawTwoWheeler(sketch, actor, z, eye, glow);
          break;
        case 'person': {
          let mount: Mount | null = null;
          if (actor.mountId !== null) {
            const machine = byId.get(actor.mountId) as TwoWheelerActor | undefined;
            if (machine) {
              mount = mountOf(machine, machine.s - world.egoS);
              key = footprintDistance(machine, machine.s - world.egoS, eye) - 0.01;
            }
          }
          drawPerson(sketch, actor, [actor.x, 0, z], eye, mount);
          break;
        }
        case 'traffic light':
          drawTrafficLight(sketch, actor, z, eye, glow);
          break;
        case 'stop sign':
          drawStopSign(sketch, actor, z, eye);
          break;
        case 'building':
          drawBuilding(sketch, actor, world.egoS, eye, lighting.windowsLit);
          break;
        default:
          drawProp(sketch, actor, z, eye, glow);
      }
      if (sketch.parts.length === 0 && sketch.ground.length === 0) continue;
      let layer = 2;
      if (actor.kind === 'building') layer = 1;
      else if (actor.x - 1 > facadeRight || actor.x + 1 < facadeLeft) layer = 0;
      drawables.push({ actor, layer, key, sketch });
    }
    drawables.sort((a, b) => a.layer - b.layer || b.key - a.key || a.actor.id - b.actor.id);

    for (const { sketch } of drawables) for (const part of sketch.ground) fillPart(ctx, part);
    const occlusion = this.occlusion;
    occlusion.clear();
    const codes: Actor[] = [];
    for (const { actor, sketch } of drawables) {
      const instance = INSTANCE_KINDS.has(actor.kind) && codes.length < MAX_INSTANCES;
      const code = instance ? codes.push(actor) : 0;
      for (const part of sketch.parts) {
        if (part.role === 'outline') {
          if (instance) occlusion.fill(code, part.points);
          continue;
        }
        fillPart(ctx, part);
        if (part.role === 'decor') continue;
        occlusion.fill(part.role === 'mask' && instance ? code : OCCLUDER, part.points);
      }
      if (sketch.glows.length > 0) {
        ctx.globalCompositeOperation = 'lighter';
        for (const g of sketch.glows) {
          const [r, gr, b] = g.color.map((c) => Math.round(c));
          const gradient = ctx.createRadialGradient(g.x, g.y, 0, g.x, g.y, g.radius);
          gradient.addColorStop(0, `rgba(${r},${gr},${b},${Math.min(1, 0.75 * g.strength).toFixed(3)})`);
          gradient.addColorStop(0.35, `rgba(${r},${gr},${b},${Math.min(1, 0.22 * g.strength).toFixed(3)})`);
          gradient.addColorStop(1, `rgba(${r},${gr},${b},0)`);
          ctx.fillStyle = gradient;
          ctx.fillRect(g.x - g.radius, g.y - g.radius, 2 * g.radius, 2 * g.radius);
        }
        ctx.globalCompositeOperation = 'source-over';
      }
    }

    const pixels = ctx.getImageData(0, 0, this.width, this.height).data;
    const image = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    const [blurX, blurY] = world.blur;
    if (blurX > 0 || blurY > 0) boxBlur(image, this.width, this.height, blurX, blurY);
    addNoise(image, lighting.noise, hashSeed(world.noiseSeed, options.frame ?? 0));

    const minArea = options.minArea ?? DEFAULT_MIN_AREA;
    const ignoreArea = options.ignoreArea ?? DEFAULT_IGNORE_AREA;
    const instances: SceneInstance[] = [];
    codes.forEach((actor, index) => {
      const visible = occlusion.visible(index + 1);
      if (!visible || visible.area < minArea) return;
      const label = actor.kind as SynthClass;
      const { box, mask, area } = visible;
      instances.push({ id: actor.id, classId: classId(label), label, box, mask, area, ignore: area < ignoreArea });
    });
    instances.sort((a, b) => a.id - b.id);
    return { width: this.width, height: this.height, image, instances, lighting: lighting.mode, setting: world.road.setting };
  }
}

export interface SceneOptions extends Omit<LayoutOptions, 'width' | 'height' | 'purpose' | 'extent'>, RenderOptions {
  width?: number;
  height?: number;
}

const renderers = new Map<string, SceneRenderer>();

function rendererFor(width: number, height: number): SceneRenderer {
  const key = `${width}x${height}`;
  let renderer = renderers.get(key);
  if (!renderer) {
    // One cached renderer per size is plenty: a run renders one size.
    renderers.clear();
    renderer = new SceneRenderer(width, height);
    renderers.set(key, renderer);
  }
  return renderer;
}

/** A still driving scene with exact ground truth, the same for the same seed and options. */
export function generateScene(seed: number, options: SceneOptions = {}): RenderedScene {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const world = createWorld(seed, { ...options, width, height, purpose: 'still' });
  return rendererFor(width, height).render(world, options);
}
