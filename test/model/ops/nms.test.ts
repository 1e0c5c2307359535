import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { batchedNms, nms, sortByScoreDescending, torchCpuSortDescending } from '../../../src/model/ops/nms';
import { fixtureFolder } from '../../support/fixtures';
import { seededRandom } from '../../support/random';

const { f32, ints } = fixtureFolder('ops', 'nms');

/** IoU as torchvision's kernel computes it, float32 at every step. */
function iou32(boxes: Float32Array, i: number, j: number): number {
  const f = Math.fround;
  const area = (k: number): number => f(f(boxes[k * 4 + 2] - boxes[k * 4]) * f(boxes[k * 4 + 3] - boxes[k * 4 + 1]));
  const w = Math.max(0, f(Math.min(boxes[i * 4 + 2], boxes[j * 4 + 2]) - Math.max(boxes[i * 4], boxes[j * 4])));
  const h = Math.max(0, f(Math.min(boxes[i * 4 + 3], boxes[j * 4 + 3]) - Math.max(boxes[i * 4 + 1], boxes[j * 4 + 1])));
  const inter = f(w * h);
  return f(inter / f(f(area(i) + area(j)) - inter));
}

/** The kernel's loop as written, every later box against each kept one: what nms.ts's pruning must agree with. */
function everyPairNms(boxes: Float32Array, scores: Float32Array, threshold: number): number[] {
  const order = Array.from(sortByScoreDescending(Array.from(scores.keys()), scores));
  const area = (i: number): number => Math.fround(Math.fround(boxes[4 * i + 2]! - boxes[4 * i]!) * Math.fround(boxes[4 * i + 3]! - boxes[4 * i + 1]!));
  const dead = new Set<number>();
  const keep: number[] = [];
  order.forEach((i, a) => {
    if (dead.has(i)) return;
    keep.push(i);
    for (const j of order.slice(a + 1)) {
      if (dead.has(j)) continue;
      const w = Math.fround(Math.min(boxes[4 * i + 2]!, boxes[4 * j + 2]!) - Math.max(boxes[4 * i]!, boxes[4 * j]!));
      const h = Math.fround(Math.min(boxes[4 * i + 3]!, boxes[4 * j + 3]!) - Math.max(boxes[4 * i + 1]!, boxes[4 * j + 1]!));
      const inter = Math.fround((w > 0 ? w : 0) * (h > 0 ? h : 0));
      if (Math.fround(inter / Math.fround(Math.fround(area(i) + area(j)) - inter)) > threshold) dead.add(j);
    }
  });
  return keep;
}

describe('nms (torchvision.ops.nms, CPU)', () => {
  it.each([0.5, 0.7])('keeps exactly what torchvision keeps at IoU %s, in the same order', (threshold) => {
    const boxes = f32('mixed_boxes');
    const keep = nms(boxes, f32('mixed_scores'), threshold);
    expect(Array.from(keep)).toEqual(ints(`mixed_keep_${threshold}`));
  });

  it('has cases on both sides of each threshold within a few float32 ULPs', () => {
    // Guards the fixture: without such pairs an IoU computed in double, or with >=, could pass unnoticed.
    const boxes = f32('mixed_boxes');
    for (const [threshold, first] of [
      [0.5, 240],
      [0.7, 320],
    ]) {
      const gaps = Array.from({ length: 40 }, (_, k) => iou32(boxes, first + 2 * k, first + 2 * k + 1) - threshold);
      expect(gaps.filter((gap) => gap > 0 && gap < 1e-6).length).toBeGreaterThan(2);
      expect(gaps.filter((gap) => gap <= 0 && gap > -1e-6).length).toBeGreaterThan(2);
    }
  });

  it('suppresses only above the threshold and lets 0/0 = NaN suppress nothing', () => {
    const boxes = new Float32Array([0, 0, 4, 4, 0, 0, 4, 2, 9, 9, 9, 9, 9, 9, 9, 9]);
    // IoU of the first two is exactly 0.5; the last two are the same zero-area box.
    expect(Array.from(nms(boxes, [0.9, 0.8, 0.5, 0.5], 0.5))).toEqual([0, 1, 2, 3]);
    expect(Array.from(nms(boxes, [0.9, 0.8, 0.5, 0.5], 0.4999))).toEqual([0, 2, 3]);
  });

  it('sorts NaN scores first and equal scores by index, as torch sorts', () => {
    expect(Array.from(nms(f32('nan_boxes'), f32('nan_scores'), 0.5))).toEqual(ints('nan_keep_0.5'));
    expect(Array.from(sortByScoreDescending([0, 1, 2, 3, 4], [0.5, NaN, 0.5, Infinity, NaN]))).toEqual([1, 4, 3, 0, 2]);
  });

  it.each([0.1, 0.5, 0.7, -0.1])(
    "decides every pair as the kernel's all-pairs loop does at IoU %s, with NaN, infinite and flipped corners among the boxes",
    (threshold) => {
      const random = seededRandom(Math.round(1000 + threshold * 100));
      const n = 1500;
      const boxes = new Float32Array(4 * n);
      const scores = new Float32Array(n);
      // Clusters of 6 jittered copies, 2 to 400 px wide over a 960x540 image: dense small boxes, and wide ones whose
      // neighbours start far to their left, which is where pruning by left edge could go wrong.
      for (let c = 0; c < n / 6; c++) {
        const w = 2 + 400 * random() ** 2;
        const h = 2 + 250 * random() ** 2;
        const cx = 960 * random();
        const cy = 540 * random();
        for (let k = 0; k < 6; k++) {
          const i = 6 * c + k;
          const kw = w * (0.8 + 0.4 * random());
          const x = cx + w * (random() - 0.5) * 1.4 - kw / 2;
          const y = cy + h * (random() - 0.5) - h / 2;
          boxes.set([x, y, x + kw, y + h], 4 * i);
          scores[i] = Math.round(random() * 200) / 200; // ties, as float32 scores have
          const odd = random();
          if (odd < 0.01) boxes[4 * i] = NaN;
          else if (odd < 0.02) boxes.set([x + kw, y + h, x, y], 4 * i);
          else if (odd < 0.025) boxes[4 * i + 2] = Infinity;
        }
      }
      expect(Array.from(nms(boxes, scores, threshold))).toEqual(everyPairNms(boxes, scores, threshold));
    },
  );

  it('handles no boxes and rejects mismatched inputs', () => {
    expect(nms(new Float32Array(0), [], 0.5)).toHaveLength(0);
    expect(() => nms(new Float32Array(8), [1], 0.5)).toThrow(/2 boxes but 1 scores/);
  });

  it('differs from tf.image.nonMaxSuppression, which suppresses at IoU == threshold', () => {
    // The reason nms.ts does not delegate to TF.js: same pair, IoU exactly 0.5, TF drops the second box.
    tf.env().set('IS_TEST', true);
    const before = tf.memory().numTensors;
    const kept = tf.tidy(() =>
      tf.image
        .nonMaxSuppression(tf.tensor2d([0, 0, 4, 4, 0, 0, 2, 4], [2, 4]), tf.tensor1d([0.9, 0.8]), 10, 0.5)
        .arraySync(),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(kept).toEqual([0]);
    expect(Array.from(nms(new Float32Array([0, 0, 4, 4, 0, 0, 4, 2]), [0.9, 0.8], 0.5))).toEqual([0, 1]);
  });
});

describe('batchedNms (torchvision.ops.batched_nms)', () => {
  // 600 boxes take torchvision's coordinate-offset path, 1500 its per-class loop; both must be matched.
  it.each([
    ['batched_small', 0.5],
    ['batched_small', 0.7],
    ['batched_large', 0.5],
    ['batched_large', 0.7],
  ])('%s at IoU %s: the same indices in the same order', (tag, threshold) => {
    const keep = batchedNms(f32(`${tag}_boxes`), f32(`${tag}_scores`), ints(`${tag}_groups`), threshold);
    expect(Array.from(keep)).toEqual(ints(`${tag}_keep_${threshold}`));
  });

  it("orders equal scores above 1000 boxes as torch's unstable CPU sort does", () => {
    const values = f32('sort_values');
    const all = Array.from(values.keys());
    const order = Array.from(torchCpuSortDescending(all, values));
    expect(order).toEqual(ints('sort_order'));
    // The fixture is tie-heavy enough that a stable sort gives a different order.
    expect(Array.from(sortByScoreDescending(all, values))).not.toEqual(order);
  });

  it('never lets one group suppress another', () => {
    const boxes = new Float32Array([0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10]);
    expect(Array.from(batchedNms(boxes, [0.7, 0.9, 0.8], [1, 2, 1], 0.5))).toEqual([1, 2]);
    expect(Array.from(batchedNms(boxes, [0.7, 0.9, 0.8], [1, 1, 1], 0.5))).toEqual([1]);
    expect(() => batchedNms(boxes, [1, 1, 1], [1], 0.5)).toThrow(/group ids/);
  });
});
