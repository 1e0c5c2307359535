/**
 * Synthetic detections for the non-model stage costs: INSTANCES ellipses a frame moving across it, the same on every
 * run, so the tracker, painter and JSON writer get a realistic load without a model.
 */
import type { BinaryMask } from '../../src/track/mask-iou';
import type { TrackDetection } from '../../src/track/tracker';
import { INSTANCES } from './pipeline-settings';

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32): the same instances on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const CLASSES: readonly [number, string][] = [[3, 'car'], [3, 'car'], [8, 'truck'], [1, 'person']];

/** A filled ellipse's mask, cropped to its bounding box within the frame. */
function ellipseMask(cx: number, cy: number, rx: number, ry: number, width: number, height: number): { box: [number, number, number, number]; mask: BinaryMask } {
  const x0 = Math.max(0, Math.floor(cx - rx));
  const y0 = Math.max(0, Math.floor(cy - ry));
  const x1 = Math.min(width, Math.ceil(cx + rx));
  const y1 = Math.min(height, Math.ceil(cy + ry));
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const dy = (y0 + y + 0.5 - cy) / ry;
    for (let x = 0; x < w; x++) {
      const dx = (x0 + x + 0.5 - cx) / rx;
      if (dx * dx + dy * dy <= 1) data[y * w + x] = 1;
    }
  }
  return { box: [x0, y0, x1, y1], mask: { x: x0, y: y0, width: w, height: h, data } };
}

/**
 * INSTANCES objects per frame: ellipses 60 to 150 px across, each moving a few pixels a frame and bouncing off the
 * frame's edges, so the tracker matches every one of them from frame to frame as it would real cars.
 */
export function syntheticDetections(frameCount: number, width: number, height: number): TrackDetection[][] {
  const next = random(20);
  const objects = Array.from({ length: INSTANCES }, (_, k) => {
    const rx = 30 + next() * 45;
    const ry = 30 + next() * 45;
    const [classId, label] = CLASSES[k % CLASSES.length] as [number, string];
    return { rx, ry, cx: rx + next() * (width - 2 * rx), cy: ry + next() * (height - 2 * ry), vx: (next() - 0.5) * 8, vy: (next() - 0.5) * 4, score: 0.5 + next() * 0.49, classId, label };
  });
  const frames: TrackDetection[][] = [];
  for (let f = 0; f < frameCount; f++) {
    frames.push(objects.map((o) => ({ ...ellipseMask(o.cx, o.cy, o.rx, o.ry, width, height), score: o.score, classId: o.classId, label: o.label })));
    for (const o of objects) {
      if (o.cx + o.vx < o.rx || o.cx + o.vx > width - o.rx) o.vx = -o.vx;
      if (o.cy + o.vy < o.ry || o.cy + o.vy > height - o.ry) o.vy = -o.vy;
      o.cx += o.vx;
      o.cy += o.vy;
    }
  }
  return frames;
}
