/**
 * CocoEval on cases small enough to work out by hand. The derivations use pycocotools' definitions:
 * - 10 IoU thresholds 0.5, 0.55, ..., 0.95 (numpy.linspace, so the 9th is 0.8999999999999999), a match needs IoU >= t;
 * - per threshold, detections of all images ranked by score; recall rc = TP / (non-ignored gts),
 *   precision pr = TP / (TP + FP + eps), eps = 2.2e-16; pr is made non-increasing from the right; at each of the 101
 *   recall thresholds r = 0, 0.01, ..., 1 the value is pr at the first rank with rc >= r, or 0 if recall never gets
 *   there; AP is the mean over thresholds, recall points and categories.
 * So one true positive alone gives precision 1/(1+eps) at every recall point: AP is 1 - 2.2e-16, hence toBeCloseTo.
 */
import { CocoEval, cocoEvaluate, defaultParams, linspace, numpyMean, type DetectionResult, type GroundTruthAnnotation, type IouType } from '../../src/eval/coco-eval';
import { bbIou, rleArea, rleFrPoly, rleIou, rleToCrop, type RleRuns, type XywhBox } from '../../src/eval/mask-api';
import { encodeMask, rleCounts } from '../../src/output/rle';
import { seededRandom } from '../support/random';

let nextId = 1;
function gt(bbox: XywhBox, extra: Partial<GroundTruthAnnotation> = {}): GroundTruthAnnotation {
  return { id: nextId++, imageId: 1, categoryId: 1, bbox, area: bbox[2] * bbox[3], iscrowd: false, ...extra };
}
function dt(bbox: XywhBox, score: number, extra: Partial<DetectionResult> = {}): DetectionResult {
  return { imageId: 1, categoryId: 1, bbox, score, ...extra };
}
function run(gts: GroundTruthAnnotation[], dts: DetectionResult[], iouType: IouType = 'bbox', categoryIds = [1]) {
  const imageIds = [...new Set([1, ...gts.map((g) => g.imageId), ...dts.map((d) => d.imageId)])];
  return cocoEvaluate(gts, dts, { iouType, imageIds, categoryIds });
}

const ONE = 1 / (1 + 2.220446049250313e-16);

describe('numpy-compatible parameters', () => {
  it('IoU thresholds are numpy.linspace(0.5, 0.95, 10), recall thresholds linspace(0, 1, 101)', () => {
    const p = defaultParams('bbox', [1], [1]);
    expect(p.iouThrs).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
    expect(p.recThrs).toHaveLength(101);
    expect(p.recThrs[35]).toBe(0.35000000000000003);
    expect(p.recThrs[100]).toBe(1);
    expect(linspace(0, 1, 3)).toEqual([0, 0.5, 1]);
  });

  it('numpyMean sums pairwise like numpy (exact for equal parts)', () => {
    expect(numpyMean([1, 2, 3])).toBe(2);
    expect(numpyMean(Array.from({ length: 1010 }, () => 0.5))).toBe(0.5);
  });
});

describe('CocoEval: hand-derived AP', () => {
  it('one ground truth, one perfect detection: AP = AR = 1 at every threshold', () => {
    const { stats } = run([gt([0, 0, 10, 10])], [dt([0, 0, 10, 10], 0.9)]);
    for (const name of ['AP', 'AP50', 'AP75', 'AR1', 'AR10', 'AR100'] as const) expect(stats[name]).toBeCloseTo(1, 12);
    // Area 100 < 32²: the object is small. Medium and large have no ground truth at all: -1, not 0.
    expect(stats.APs).toBeCloseTo(1, 12);
    expect([stats.APm, stats.APl, stats.ARm, stats.ARl]).toEqual([-1, -1, -1, -1]);
  });

  it('IoU exactly 0.6 matches at 0.5, 0.55 and 0.6 only: AP = 3/10, AP50 = 1, AP75 = 0', () => {
    // 10x6 inside 10x10: intersection 60, union 100.
    const { stats } = run([gt([0, 0, 10, 10])], [dt([0, 0, 10, 6], 0.9)]);
    expect(stats.AP).toBeCloseTo(0.3, 12);
    expect(stats.AP50).toBeCloseTo(1, 12);
    expect(stats.AP75).toBe(0);
    // Recall is 1 at three thresholds and 0 at seven.
    expect(stats.AR100).toBeCloseTo(0.3, 12);
  });

  it('IoU exactly 0.9 also passes the 9th threshold, which numpy makes 0.8999999999999999: AP = 9/10', () => {
    const { stats } = run([gt([0, 0, 10, 10])], [dt([0, 0, 10, 9], 0.9)]);
    expect(stats.AP).toBeCloseTo(0.9, 12);
  });

  it('a false positive scoring above the true positive halves precision everywhere: AP = 0.5', () => {
    // Ranks: FP (0.9), TP (0.8). rc = [0, 1], pr = [0, 1/(2+eps)] = [0, 0.5] (2 + eps rounds to 2).
    // Made non-increasing: [0.5, 0.5]. r = 0 reads rank 0, r > 0 reads rank 1: 0.5 at all 101 points.
    const { stats, accumulation } = run([gt([0, 0, 10, 10])], [dt([50, 50, 10, 10], 0.9), dt([0, 0, 10, 10], 0.8)]);
    expect(stats.AP).toBe(0.5);
    expect(stats.AR100).toBe(1);
    // The whole curve at t = 0.5, area all, maxDets 100 (precision is [T, R, K, A, M]; M = 3, A = 4, K = 1).
    const curve = Array.from({ length: 101 }, (_, r) => accumulation.precision[(r * 4 + 0) * 3 + 2]);
    expect(new Set(curve)).toEqual(new Set([0.5]));
  });

  it('TP, FP, TP over two ground truths: AP = (51 · 1 + 50 · 2/3) / 101 = 253/303', () => {
    // rc = [0.5, 0.5, 1], pr = [1/(1+eps), 1/2, 2/3] → non-increasing: [~1, 2/3, 2/3].
    // r = 0 .. 0.50 (51 points) reach rc 0.5 at rank 0: ~1; r = 0.51 .. 1 (50 points) need rank 2: 2/3.
    const { stats, accumulation } = run(
      [gt([0, 0, 10, 10]), gt([100, 100, 10, 10])],
      [dt([0, 0, 10, 10], 0.9), dt([50, 50, 10, 10], 0.8), dt([100, 100, 10, 10], 0.7)],
    );
    expect(stats.AP).toBeCloseTo(253 / 303, 12);
    const curve = Array.from({ length: 101 }, (_, r) => accumulation.precision[(r * 4 + 0) * 3 + 2] as number);
    expect(curve.slice(0, 51).every((p) => p === ONE)).toBe(true);
    expect(curve.slice(51).every((p) => p === 2 / (3 + 2.220446049250313e-16))).toBe(true);
  });

  it('categories are averaged with equal weight: (1 + 0.5) / 2', () => {
    const { stats, perCategory } = run(
      [gt([0, 0, 10, 10]), gt([0, 0, 10, 10], { categoryId: 2 })],
      [dt([0, 0, 10, 10], 0.9), dt([50, 50, 10, 10], 0.9, { categoryId: 2 }), dt([0, 0, 10, 10], 0.8, { categoryId: 2 })],
      'bbox',
      [1, 2],
    );
    expect(perCategory[0]?.AP).toBeCloseTo(1, 12);
    expect(perCategory[1]?.AP).toBe(0.5);
    expect(stats.AP).toBeCloseTo(0.75, 12);
  });

  it('a category with no ground truth is -1 and left out of the mean; one with ground truth and no detections is 0', () => {
    const withoutGt = run([gt([0, 0, 10, 10])], [dt([0, 0, 10, 10], 0.9), dt([0, 0, 10, 10], 0.95, { categoryId: 2 })], 'bbox', [1, 2]);
    expect(withoutGt.perCategory[1]).toMatchObject({ categoryId: 2, AP: -1, AP50: -1 });
    expect(withoutGt.stats.AP).toBeCloseTo(1, 12);
    const withoutDetections = run([gt([0, 0, 10, 10]), gt([0, 0, 10, 10], { categoryId: 2 })], [dt([0, 0, 10, 10], 0.9)], 'bbox', [1, 2]);
    expect(withoutDetections.perCategory[1]?.AP).toBe(0);
    expect(withoutDetections.stats.AP).toBeCloseTo(0.5, 12);
  });

  it('an image with ground truth and no detections caps recall: AP = 51/101, AR = 1/2', () => {
    // Two gts (images 1 and 2), one perfect detection in image 1: rc = [0.5]; r <= 0.5 (51 points) get ~1.
    const { stats } = run([gt([0, 0, 10, 10]), gt([0, 0, 10, 10], { imageId: 2 })], [dt([0, 0, 10, 10], 0.9)]);
    expect(stats.AP).toBeCloseTo(51 / 101, 12);
    expect(stats.AR100).toBe(0.5);
  });

  it('no ground truth at all: every number is -1', () => {
    const { stats } = run([], [dt([0, 0, 10, 10], 0.9)]);
    expect(Object.values(stats)).toEqual(Array(12).fill(-1));
  });
});

describe('CocoEval: crowds and ignored objects', () => {
  it('a crowd region swallows any number of detections inside it; they are ignored, not false positives', () => {
    const crowd = gt([0, 0, 100, 100], { iscrowd: true });
    const person = gt([200, 200, 10, 10]);
    const inside = [dt([10, 10, 10, 10], 0.9), dt([50, 50, 10, 10], 0.8), dt([80, 80, 20, 20], 0.7)];
    const tp = dt([200, 200, 10, 10], 0.6);
    // Crowd IoU is intersection / detection area = 1 for a detection inside the region (plain IoU would be 0.01).
    expect(Array.from(bbIou([inside[0]?.bbox as XywhBox], [crowd.bbox], [true]))).toEqual([1]);
    const { stats } = run([crowd, person], [...inside, tp]);
    // Only the TP counts, and only `person` is a ground truth to recall (crowds never are): AP = 1.
    expect(stats.AP).toBeCloseTo(1, 12);
    expect(stats.AR100).toBe(1);

    // A detection only a quarter inside the crowd (intersection 100 / its area 400 = 0.25) is a real false positive,
    // ranked above the TP: AP = 0.5 as in the FP-above-TP case.
    expect(run([crowd, person], [...inside, dt([90, 90, 20, 20], 0.65), tp]).stats.AP).toBe(0.5);
  });

  it('the matched detections point at the crowd at every threshold and are flagged ignored (evaluateImg)', () => {
    const crowd = gt([0, 0, 100, 100], { iscrowd: true });
    const params = defaultParams('bbox', [1], [1]);
    const cocoEval = new CocoEval([crowd], [dt([10, 10, 10, 10], 0.9), dt([20, 20, 10, 10], 0.8)], params);
    cocoEval.evaluate();
    const e = cocoEval.evalImgs[0];
    expect(e?.gtIgnore).toEqual(Uint8Array.from([1]));
    expect(Array.from(e?.dtMatches ?? [])).toEqual(Array(20).fill(0));
    expect(Array.from(e?.dtIgnore ?? [])).toEqual(Array(20).fill(1));
  });

  it('a detection holding a counted match does not move to a crowd it overlaps better', () => {
    // The det overlaps `car` with IoU 0.6 and the crowd with crowd-IoU 1. At t <= 0.6 it matches `car` (counted gts
    // come first, and the walk stops at the ignored ones once it has a counted match); at t >= 0.65 `car` fails
    // and the crowd takes it, so it is ignored: no TP, no FP, precision 0 at those thresholds. AP = 3/10.
    const { stats } = run([gt([0, 0, 100, 100], { iscrowd: true }), gt([0, 0, 10, 10])], [dt([0, 0, 10, 6], 0.9)]);
    expect(stats.AP).toBeCloseTo(0.3, 12);
    expect(stats.AR100).toBeCloseTo(0.3, 12);
  });
});

describe('CocoEval: area ranges', () => {
  it('a small and a large object count in APs and APl respectively, and both in AP', () => {
    // 10x10 = 100 <= 32² (small); 100x100 = 10000 > 96² (large).
    const { stats } = run([gt([0, 0, 10, 10]), gt([100, 100, 100, 100])], [dt([0, 0, 10, 10], 0.9), dt([100, 100, 100, 100], 0.8)]);
    expect(stats.AP).toBeCloseTo(1, 12);
    expect(stats.APs).toBeCloseTo(1, 12);
    expect(stats.APl).toBeCloseTo(1, 12);
    expect(stats.APm).toBe(-1);
  });

  it('the range is decided by the annotation area field, and its ends belong to both neighbours', () => {
    // A 10x10 box whose file says area 1024 = 32²: small ([0, 1024]) and medium ([1024, 9216]) both hold it.
    const { stats } = run([gt([0, 0, 10, 10], { area: 32 ** 2 })], [dt([0, 0, 10, 10], 0.9)]);
    expect(stats.APs).toBeCloseTo(1, 12);
    expect(stats.APm).toBeCloseTo(1, 12);
    expect(stats.APl).toBe(-1);
  });

  it('an unmatched detection outside the range is ignored there, but counts against AP over all areas', () => {
    // Medium object (40x40 = 1600) found at 0.8; a small false positive (5x5 = 25) at 0.9.
    const { stats } = run([gt([0, 0, 40, 40])], [dt([100, 100, 5, 5], 0.9), dt([0, 0, 40, 40], 0.8)]);
    expect(stats.AP).toBe(0.5);
    expect(stats.APm).toBeCloseTo(1, 12);
    // In the small range the medium gt is ignored (so is the det that matches it): nothing to recall, -1.
    expect(stats.APs).toBe(-1);
  });
});

describe('CocoEval: maxDets', () => {
  it('AR1 / AR10 / AR100 keep the top 1 / 10 / 100 detections of each image', () => {
    // 11 objects, 11 perfect detections with falling scores: recall 1/11, 10/11 and 1.
    const gts = Array.from({ length: 11 }, (_, i) => gt([i * 20, 0, 10, 10]));
    const dts = Array.from({ length: 11 }, (_, i) => dt([i * 20, 0, 10, 10], 1 - i / 100));
    const { stats } = run(gts, dts);
    expect(stats.AR1).toBeCloseTo(1 / 11, 12);
    expect(stats.AR10).toBeCloseTo(10 / 11, 12);
    expect(stats.AR100).toBe(1);
    expect(stats.AP).toBeCloseTo(1, 12);
  });

  it('the cut is per image: one perfect detection in each of two images gives AR1 = 1', () => {
    const { stats } = run([gt([0, 0, 10, 10]), gt([0, 0, 10, 10], { imageId: 2 })], [dt([0, 0, 10, 10], 0.9), dt([0, 0, 10, 10], 0.8, { imageId: 2 })]);
    expect(stats.AR1).toBe(1);
  });

  it('a true positive ranked 101st in its image is never seen: AP = AR100 = 0', () => {
    const fps = Array.from({ length: 100 }, (_, i) => dt([1000 + i * 20, 0, 10, 10], 0.9));
    const { stats } = run([gt([0, 0, 10, 10])], [...fps, dt([0, 0, 10, 10], 0.5)]);
    expect(stats.AP).toBe(0);
    expect(stats.AR100).toBe(0);
  });
});

describe('mask IoU on runs (segm)', () => {
  // 4x4 images; runs are column-major, background first.
  const leftHalf: RleRuns = { height: 4, width: 4, counts: [0, 8, 8] }; // columns 0-1
  const sixPixels: RleRuns = { height: 4, width: 4, counts: [0, 6, 10] }; // column 0 and the top half of column 1
  const whole: RleRuns = { height: 4, width: 4, counts: [0, 16] };
  const rightHalf: RleRuns = { height: 4, width: 4, counts: [8, 8] };

  it('intersection over union, the crowd rule, disjoint masks and size mismatches', () => {
    expect(Array.from(rleIou([sixPixels], [leftHalf], [false]))).toEqual([6 / 8]);
    // Crowd: 6 / area(det) = 1; as a plain object the whole image would give 6 / 16.
    expect(Array.from(rleIou([sixPixels], [whole, whole], [true, false]))).toEqual([1, 6 / 16]);
    expect(Array.from(rleIou([rightHalf], [leftHalf], [false]))).toEqual([0]);
    expect(Array.from(rleIou([{ height: 4, width: 5, counts: [0, 20] }], [leftHalf], [false]))).toEqual([-1]);
    expect(rleArea(sixPixels)).toBe(6);
  });

  it('segm AP uses the mask IoU: 0.75 passes 6 of the 10 thresholds, AP = 0.6', () => {
    const { stats } = run([gt([0, 0, 2, 4], { segmentation: leftHalf, area: 8 })], [dt([0, 0, 4, 4], 0.9, { segmentation: sixPixels })], 'segm');
    expect(stats.AP).toBeCloseTo(0.6, 12);
    // The boxes (0,0,2,4) and (0,0,4,4) have IoU 0.5: box AP would be 1/10.
    expect(run([gt([0, 0, 2, 4])], [dt([0, 0, 4, 4], 0.9)]).stats.AP).toBeCloseTo(0.1, 12);
  });

  it('a polygon with whole-pixel corners covers exactly the pixels inside it (as pycocotools rasterises it)', () => {
    // (1,1)-(4,3) on a 5-row, 6-column image: columns 1-3, rows 1-2. pycocotools: counts "6230009" = runs [6,2,3,2,3,2,12].
    expect(rleFrPoly([1, 1, 4, 1, 4, 3, 1, 3], 5, 6).counts).toEqual([6, 2, 3, 2, 3, 2, 12]);
  });

  it('rleToCrop cuts the mask to its foreground rectangle', () => {
    expect(rleToCrop(sixPixels)).toEqual({ x: 0, y: 0, width: 2, height: 4, data: Uint8Array.from([1, 1, 1, 1, 1, 0, 1, 0]) });
    expect(rleToCrop(rightHalf)).toMatchObject({ x: 2, y: 0, width: 2, height: 4 });
    expect(rleToCrop({ height: 4, width: 4, counts: [16] })).toMatchObject({ width: 0, height: 0 });
    // Random masks: pasting the crop back gives the bitmap decodeMask gives.
    const random = seededRandom(3);
    for (let trial = 0; trial < 200; trial++) {
      const h = 1 + Math.floor(random() * 7);
      const w = 1 + Math.floor(random() * 7);
      const density = random();
      const bitmap = Uint8Array.from({ length: h * w }, () => (random() < density ? 1 : 0));
      const crop = rleToCrop({ height: h, width: w, counts: rleCounts(encodeMask(bitmap, h, w)) });
      const pasted = new Uint8Array(h * w);
      for (let y = 0; y < crop.height; y++) for (let x = 0; x < crop.width; x++) pasted[(crop.y + y) * w + crop.x + x] = crop.data[y * crop.width + x] as number;
      expect(pasted).toEqual(bitmap);
    }
  });
});

/**
 * An independent AP for the plain case (no crowds, every object in range, at most 100 detections per image), written
 * from the definition rather than from cocoeval's code: per threshold, greedy matching in score order to the
 * best-overlapping free ground truth, then the interpolated precision at recall r is the best precision at any rank
 * whose recall is at least r.
 */
function bruteForceAp(gts: GroundTruthAnnotation[], dts: DetectionResult[], categories: number[]): number {
  const thresholds = defaultParams('bbox', [], []).iouThrs;
  const perCategory: number[] = [];
  for (const category of categories) {
    const cg = gts.filter((g) => g.categoryId === category);
    if (cg.length === 0) continue;
    const cd = dts.filter((d) => d.categoryId === category);
    const sum = thresholds.reduce((total, t) => {
      const taken = new Set<GroundTruthAnnotation>();
      const outcomes: { score: number; tp: boolean; order: number }[] = [];
      const images = [...new Set(cd.map((d) => d.imageId))].sort((a, b) => a - b);
      for (const image of images) {
        const mine = cd.filter((d) => d.imageId === image).map((d, i) => ({ d, i }));
        mine.sort((a, b) => b.d.score - a.d.score || a.i - b.i);
        for (const { d } of mine) {
          let best: GroundTruthAnnotation | undefined;
          let bestIou = Math.min(t, 1 - 1e-10);
          for (const g of cg.filter((g) => g.imageId === image && !taken.has(g))) {
            const iou = bbIou([d.bbox], [g.bbox], [false])[0] as number;
            if (iou >= bestIou) {
              bestIou = iou;
              best = g;
            }
          }
          if (best) taken.add(best);
          outcomes.push({ score: d.score, tp: best !== undefined, order: outcomes.length });
        }
      }
      outcomes.sort((a, b) => b.score - a.score || a.order - b.order);
      const points: { recall: number; precision: number }[] = [];
      let tp = 0;
      outcomes.forEach((o, rank) => {
        if (o.tp) tp++;
        points.push({ recall: tp / cg.length, precision: tp / (rank + 1) });
      });
      let area = 0;
      for (let r = 0; r <= 100; r++) {
        const reach = points.filter((p) => p.recall >= r / 100 - 1e-12);
        area += reach.length === 0 ? 0 : Math.max(...reach.map((p) => p.precision));
      }
      return total + area / 101;
    }, 0);
    perCategory.push(sum / thresholds.length);
  }
  return perCategory.length === 0 ? -1 : perCategory.reduce((a, b) => a + b, 0) / perCategory.length;
}

describe('CocoEval against an independent brute force (seeded random boxes)', () => {
  it('agrees on AP over 30 random data sets', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 30; trial++) {
      const gts: GroundTruthAnnotation[] = [];
      const dts: DetectionResult[] = [];
      for (let image = 1; image <= 4; image++) {
        for (let k = 0; k < 1 + Math.floor(random() * 6); k++) {
          const box: XywhBox = [Math.floor(random() * 200), Math.floor(random() * 200), 5 + Math.floor(random() * 60), 5 + Math.floor(random() * 60)];
          const categoryId = 1 + Math.floor(random() * 3);
          gts.push(gt(box, { imageId: image, categoryId, area: 2000 }));
          for (let copy = 0; copy < 2; copy++) {
            if (random() < 0.3) continue;
            const jitter = (v: number): number => v + Math.round((random() - 0.5) * 16);
            // Scores in steps of 0.1 tie often; ties resolve by image then by input order in both implementations.
            dts.push(dt([jitter(box[0]), jitter(box[1]), Math.max(1, jitter(box[2])), Math.max(1, jitter(box[3]))], Math.round(random() * 10) / 10, { imageId: image, categoryId }));
          }
        }
      }
      const result = cocoEvaluate(gts, dts, { iouType: 'bbox', imageIds: [1, 2, 3, 4], categoryIds: [1, 2, 3, 4] });
      expect(result.stats.AP).toBeCloseTo(bruteForceAp(gts, dts, [1, 2, 3, 4]), 10);
    }
  });
});
