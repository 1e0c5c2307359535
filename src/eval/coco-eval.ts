/**
 * COCO detection and instance-segmentation evaluation: a re-implementation of pycocotools' COCOeval
 * (PythonAPI/pycocotools/cocoeval.py) for iouType 'bbox' and 'segm', meant to be read beside it. The methods keep
 * its names (evaluate, computeIoU, evaluateImg, accumulate, summarize) and its order of operations, including the
 * float details that decide ties: IoU thresholds made by numpy.linspace, precision = tp / (tp + fp + eps), stable
 * (mergesort) score ordering, searchsorted('left') on the recall thresholds, and numpy's pairwise summation in the
 * final means. With the same inputs the 12 summary numbers agree with pycocotools exactly (see
 * tools/fixtures/make_coco_fixtures.py and test/eval/coco-fixture.test.ts).
 *
 * Two deliberate departures, both invisible on well-formed data:
 * - a match is recorded as an index, not as the matched annotation's id, so a ground truth with id 0 (which
 *   pycocotools reads as "unmatched") counts like any other;
 * - a detection's area is its mask's area for 'segm' and w × h for 'bbox', whatever fields it carries; pycocotools'
 *   loadRes would use the box area for 'segm' when results also carry a bbox, which detectron2 and torchvision
 *   avoid for the same reason (small/medium/large would be judged on the box).
 *
 * Kept whole although long: it is one class, COCOeval's twin, whose methods share its state and are read beside
 * cocoeval.py in its order; the mask and box IoUs it calls are apart in mask-api.ts, as pycocotools keeps its _mask.
 */
import { bbIou, rleArea, rleIou, type RleRuns, type XywhBox } from './mask-api';

export type IouType = 'segm' | 'bbox';

/** A ground-truth object as in a COCO instances file (bbox is x, y, w, h; area is the file's `area` field). */
export interface GroundTruthAnnotation {
  id: number;
  imageId: number;
  categoryId: number;
  bbox: XywhBox;
  area: number;
  iscrowd: boolean;
  /** Required for 'segm'. */
  segmentation?: RleRuns;
}

/** A detection as in a COCO results file. */
export interface DetectionResult {
  imageId: number;
  categoryId: number;
  score: number;
  bbox: XywhBox;
  /** Required for 'segm'. */
  segmentation?: RleRuns;
}

export interface EvalParams {
  iouType: IouType;
  imgIds: number[];
  catIds: number[];
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
}

/**
 * numpy.linspace(start, stop, num): `i * step + start` with the last value set to `stop`. The thresholds must be
 * these exact floats (0.8999999999999999, not 0.9), since an IoU is compared against them with `<`.
 */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const values = Array.from({ length: num }, (_, i) => i * step + start);
  values[num - 1] = stop;
  return values;
}

/** COCOeval's Params.setDetParams defaults for the given images and categories (sorted, as COCOeval sorts them). */
export function defaultParams(iouType: IouType, imgIds: readonly number[], catIds: readonly number[]): EvalParams {
  return {
    iouType,
    imgIds: uniqueSorted(imgIds),
    catIds: uniqueSorted(catIds),
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [
      [0 ** 2, 1e5 ** 2],
      [0 ** 2, 32 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e5 ** 2],
    ],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
  };
}

/** np.spacing(1): the float gap at 1.0, added to the precision's denominator so that 0 / 0 reads as 0. */
const EPS = 2.220446049250313e-16;

/** What evaluateImg leaves for one image, category and area range (cocoeval's evalImgs entries). */
export interface EvalImg {
  imageId: number;
  categoryId: number;
  aRng: [number, number];
  maxDet: number;
  /** Indices into the input detections, highest score first, at most maxDet. */
  dtIds: number[];
  /** Ids of the ground truths in evaluation order (not ignored first). */
  gtIds: number[];
  dtScores: number[];
  /** `dtMatches[t * D + d]`: position in gtIds of the ground truth detection d matched at threshold t, or -1. */
  dtMatches: Int32Array;
  /** `gtMatches[t * G + g]`: position in dtIds of the detection that matched ground truth g at threshold t, or -1. */
  gtMatches: Int32Array;
  gtIgnore: Uint8Array;
  /** `dtIgnore[t * D + d]`: 1 when the detection is left out of the counts (matched an ignored gt, or out of range). */
  dtIgnore: Uint8Array;
}

/** accumulate()'s output; arrays are C-order over the dimensions named. */
export interface Accumulation {
  params: EvalParams;
  /** [T, R, K, A, M]; -1 where the category has no ground truth in that area range. */
  precision: Float64Array;
  /** [T, K, A, M]; -1 likewise. */
  recall: Float64Array;
  /** [T, R, K, A, M]: the score at which each recall threshold is reached. */
  scores: Float64Array;
}

/** The 12 numbers COCOeval.summarize() prints, in its order. */
export const SUMMARY_NAMES = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;
export type SummaryName = (typeof SUMMARY_NAMES)[number];
export type SummaryStats = Record<SummaryName, number>;

function uniqueSorted(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** np.argsort(keys, kind='mergesort'): stable, so equal keys keep their input order. */
function stableArgsort(keys: readonly number[]): number[] {
  return keys.map((_, i) => i).sort((a, b) => (keys[a] as number) - (keys[b] as number) || a - b);
}

/** numpy's pairwise summation block (PW_BLOCKSIZE in loops_utils.h). */
const PW_BLOCKSIZE = 128;

/** numpy's pairwise_sum for float64: 8 interleaved accumulators per block, blocks combined as a binary tree. */
function pairwiseSum(values: readonly number[], start: number, n: number): number {
  if (n < 8) {
    let res = -0.0;
    for (let i = 0; i < n; i++) res += values[start + i] as number;
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    const r = values.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = (r[j] as number) + (values[start + i + j] as number);
    }
    const [r0, r1, r2, r3, r4, r5, r6, r7] = r as [number, number, number, number, number, number, number, number];
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += values[start + i] as number;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(values, start, n2) + pairwiseSum(values, start + n2, n - n2);
}

/**
 * np.mean of a 1-D float64 array, summed as numpy 2 does (one pairwise summation over the whole contiguous array), so
 * the summary numbers match pycocotools to the last bit rather than to 1e-16. numpy 1.x summed in chunks of its
 * 8192-element buffer instead, which differs in the last bit once more than 8192 values are averaged (AP over 9 or
 * more categories).
 */
export function numpyMean(values: readonly number[]): number {
  return pairwiseSum(values, 0, values.length) / values.length;
}

function detectionArea(dt: DetectionResult, iouType: IouType): number {
  if (iouType === 'bbox') return dt.bbox[2] * dt.bbox[3];
  if (dt.segmentation === undefined) throw new Error('segm evaluation needs a segmentation on every detection');
  return rleArea(dt.segmentation);
}

interface PreparedDetection {
  index: number;
  score: number;
  area: number;
  bbox: XywhBox;
  segmentation?: RleRuns;
}

interface PreparedGroundTruth {
  id: number;
  area: number;
  iscrowd: boolean;
  bbox: XywhBox;
  segmentation?: RleRuns;
}

/** IoUs of one image and category: `values[d * G + g]` over the score-sorted detections and the input gt order. */
interface IouMatrix {
  values: Float64Array;
  gtCount: number;
}

export class CocoEval {
  readonly params: EvalParams;
  /** Per `${imageId} ${categoryId}`, in input order (cocoeval's _gts / _dts). */
  private readonly gts = new Map<string, PreparedGroundTruth[]>();
  private readonly dts = new Map<string, PreparedDetection[]>();
  private readonly ious = new Map<string, IouMatrix | null>();
  /** Indexed [k][a][i] flattened, as cocoeval's list: k * A * I + a * I + i; null where nothing was there. */
  evalImgs: (EvalImg | null)[] = [];

  constructor(groundTruths: readonly GroundTruthAnnotation[], detections: readonly DetectionResult[], params: EvalParams) {
    this.params = { ...params, imgIds: uniqueSorted(params.imgIds), catIds: uniqueSorted(params.catIds), maxDets: [...params.maxDets].sort((a, b) => a - b) };
    this.prepare(groundTruths, detections);
  }

  private static key(imageId: number, categoryId: number): string {
    return `${imageId} ${categoryId}`;
  }

  /** _prepare: group by image and category, keeping only the evaluated ones. */
  private prepare(groundTruths: readonly GroundTruthAnnotation[], detections: readonly DetectionResult[]): void {
    const images = new Set(this.params.imgIds);
    const categories = new Set(this.params.catIds);
    const needsMask = this.params.iouType === 'segm';
    for (const gt of groundTruths) {
      if (!images.has(gt.imageId) || !categories.has(gt.categoryId)) continue;
      if (needsMask && gt.segmentation === undefined) throw new Error(`segm evaluation: ground truth ${gt.id} has no segmentation`);
      const key = CocoEval.key(gt.imageId, gt.categoryId);
      const list = this.gts.get(key) ?? [];
      list.push({ id: gt.id, area: gt.area, iscrowd: gt.iscrowd, bbox: gt.bbox, ...(gt.segmentation ? { segmentation: gt.segmentation } : {}) });
      this.gts.set(key, list);
    }
    detections.forEach((dt, index) => {
      if (!images.has(dt.imageId) || !categories.has(dt.categoryId)) return;
      const key = CocoEval.key(dt.imageId, dt.categoryId);
      const list = this.dts.get(key) ?? [];
      list.push({ index, score: dt.score, area: detectionArea(dt, this.params.iouType), bbox: dt.bbox, ...(dt.segmentation ? { segmentation: dt.segmentation } : {}) });
      this.dts.set(key, list);
    });
  }

  /** Runs computeIoU and evaluateImg on every image, category and area range. */
  evaluate(): void {
    const p = this.params;
    for (const imgId of p.imgIds) {
      for (const catId of p.catIds) this.ious.set(CocoEval.key(imgId, catId), this.computeIoU(imgId, catId));
    }
    const maxDet = p.maxDets[p.maxDets.length - 1] as number;
    this.evalImgs = [];
    for (const catId of p.catIds) {
      for (const areaRng of p.areaRng) {
        for (const imgId of p.imgIds) this.evalImgs.push(this.evaluateImg(imgId, catId, areaRng, maxDet));
      }
    }
  }

  /** IoU of the (at most maxDets[-1]) highest-scoring detections with every ground truth of one image and category. */
  computeIoU(imgId: number, catId: number): IouMatrix | null {
    const key = CocoEval.key(imgId, catId);
    const gt = this.gts.get(key) ?? [];
    let dt = this.dts.get(key) ?? [];
    if (gt.length === 0 && dt.length === 0) return null;
    dt = stableArgsort(dt.map((d) => -d.score)).map((i) => dt[i] as PreparedDetection);
    dt = dt.slice(0, this.params.maxDets[this.params.maxDets.length - 1]);
    // maskUtils.iou returns [] when either side is empty; evaluateImg then matches nothing.
    if (gt.length === 0 || dt.length === 0) return null;
    const iscrowd = gt.map((g) => g.iscrowd);
    const values =
      this.params.iouType === 'segm'
        ? rleIou(
            dt.map((d) => d.segmentation as RleRuns),
            gt.map((g) => g.segmentation as RleRuns),
            iscrowd,
          )
        : bbIou(
            dt.map((d) => d.bbox),
            gt.map((g) => g.bbox),
            iscrowd,
          );
    return { values, gtCount: gt.length };
  }

  /**
   * Greedy matching for one image and category at every IoU threshold. Detections go highest score first; each
   * takes the unmatched ground truth it overlaps best (at least the threshold), preferring ones that count: ground
   * truths are sorted ignored-last and once a detection holds a counted match it does not move to an ignored one.
   * Crowd ground truths can absorb any number of detections. Detections matched to an ignored ground truth, and
   * unmatched ones outside the area range, are ignored rather than counted as false positives.
   */
  evaluateImg(imgId: number, catId: number, aRng: [number, number], maxDet: number): EvalImg | null {
    const p = this.params;
    const key = CocoEval.key(imgId, catId);
    const gtAll = this.gts.get(key) ?? [];
    const dtAll = this.dts.get(key) ?? [];
    if (gtAll.length === 0 && dtAll.length === 0) return null;

    const ignoreOf = gtAll.map((g) => (g.iscrowd || g.area < aRng[0] || g.area > aRng[1] ? 1 : 0));
    const gtind = stableArgsort(ignoreOf);
    const gt = gtind.map((i) => gtAll[i] as PreparedGroundTruth);
    const dt = stableArgsort(dtAll.map((d) => -d.score))
      .slice(0, maxDet)
      .map((i) => dtAll[i] as PreparedDetection);
    const iscrowd = gt.map((g) => g.iscrowd);
    const ious = this.ious.get(key) ?? null;

    const T = p.iouThrs.length;
    const G = gt.length;
    const D = dt.length;
    const gtm = new Int32Array(T * G).fill(-1);
    const dtm = new Int32Array(T * D).fill(-1);
    const gtIg = Uint8Array.from(gtind, (i) => ignoreOf[i] as number);
    const dtIg = new Uint8Array(T * D);
    if (ious !== null) {
      // ious columns are in input gt order; gtind maps evaluation order back to it.
      const iou = (d: number, g: number): number => ious.values[d * ious.gtCount + (gtind[g] as number)] as number;
      p.iouThrs.forEach((t, tind) => {
        for (let dind = 0; dind < D; dind++) {
          // Best match so far; 1 - 1e-10 caps the bar so that a perfect overlap still matches at threshold 1.
          let best = Math.min(t, 1 - 1e-10);
          let m = -1;
          for (let gind = 0; gind < G; gind++) {
            // Already matched and not a crowd: taken.
            if ((gtm[tind * G + gind] as number) >= 0 && !iscrowd[gind]) continue;
            // Holding a counted match and reaching the ignored ones (sorted last): stop.
            if (m > -1 && gtIg[m] === 0 && gtIg[gind] === 1) break;
            // `<`, not `<=`: a later ground truth with an equal IoU takes over, as in cocoeval.
            if (iou(dind, gind) < best) continue;
            best = iou(dind, gind);
            m = gind;
          }
          if (m === -1) continue;
          dtIg[tind * D + dind] = gtIg[m] as number;
          dtm[tind * D + dind] = m;
          gtm[tind * G + m] = dind;
        }
      });
    }
    // Unmatched detections outside the area range are ignored: they may be correct detections of objects whose
    // ground truth falls in another range.
    for (let dind = 0; dind < D; dind++) {
      const area = (dt[dind] as PreparedDetection).area;
      if (area < aRng[0] || area > aRng[1]) {
        for (let tind = 0; tind < T; tind++) if (dtm[tind * D + dind] === -1) dtIg[tind * D + dind] = 1;
      }
    }
    return {
      imageId: imgId,
      categoryId: catId,
      aRng,
      maxDet,
      dtIds: dt.map((d) => d.index),
      gtIds: gt.map((g) => g.id),
      dtScores: dt.map((d) => d.score),
      dtMatches: dtm,
      gtMatches: gtm,
      gtIgnore: gtIg,
      dtIgnore: dtIg,
    };
  }

  /**
   * Precision at the 101 recall thresholds and the final recall, per threshold, category, area range and maxDets:
   * detections of all images ranked by score, cumulative true/false positives, precision made non-increasing from
   * the right (the interpolated precision), then read at the first rank whose recall reaches each threshold.
   */
  accumulate(): Accumulation {
    const p = this.params;
    const T = p.iouThrs.length;
    const R = p.recThrs.length;
    const K = p.catIds.length;
    const A = p.areaRng.length;
    const M = p.maxDets.length;
    const I = p.imgIds.length;
    const precision = new Float64Array(T * R * K * A * M).fill(-1);
    const recall = new Float64Array(T * K * A * M).fill(-1);
    const scores = new Float64Array(T * R * K * A * M).fill(-1);
    for (let k = 0; k < K; k++) {
      for (let a = 0; a < A; a++) {
        for (let m = 0; m < M; m++) {
          const maxDet = p.maxDets[m] as number;
          const E: EvalImg[] = [];
          for (let i = 0; i < I; i++) {
            const e = this.evalImgs[k * A * I + a * I + i];
            if (e) E.push(e);
          }
          if (E.length === 0) continue;
          // Detections of all images, each image's cut to maxDet; image order breaks score ties (mergesort).
          const dtScores: number[] = [];
          const owner: [EvalImg, number][] = [];
          for (const e of E) {
            const n = Math.min(maxDet, e.dtScores.length);
            for (let d = 0; d < n; d++) {
              dtScores.push(e.dtScores[d] as number);
              owner.push([e, d]);
            }
          }
          const inds = stableArgsort(dtScores.map((s) => -s));
          const dtScoresSorted = inds.map((i) => dtScores[i] as number);
          let npig = 0;
          for (const e of E) for (const ig of e.gtIgnore) if (ig === 0) npig++;
          if (npig === 0) continue;
          const nd = inds.length;
          for (let t = 0; t < T; t++) {
            const rc = new Float64Array(nd);
            const pr = new Float64Array(nd);
            let tp = 0;
            let fp = 0;
            for (let r = 0; r < nd; r++) {
              const [e, d] = owner[inds[r] as number] as [EvalImg, number];
              const D = e.dtScores.length;
              if (e.dtIgnore[t * D + d] === 0) {
                if ((e.dtMatches[t * D + d] as number) >= 0) tp++;
                else fp++;
              }
              rc[r] = tp / npig;
              pr[r] = tp / (fp + tp + EPS);
            }
            recall[((t * K + k) * A + a) * M + m] = nd > 0 ? (rc[nd - 1] as number) : 0;
            // Interpolated precision: the best precision at this recall or any higher one.
            for (let r = nd - 1; r > 0; r--) if ((pr[r] as number) > (pr[r - 1] as number)) pr[r - 1] = pr[r] as number;
            // searchsorted(rc, recThrs, 'left'); thresholds past the final recall keep precision 0.
            let at = 0;
            for (let ri = 0; ri < R; ri++) {
              const threshold = p.recThrs[ri] as number;
              while (at < nd && (rc[at] as number) < threshold) at++;
              const index = (((t * R + ri) * K + k) * A + a) * M + m;
              if (at >= nd) {
                for (let rj = ri; rj < R; rj++) {
                  const rest = (((t * R + rj) * K + k) * A + a) * M + m;
                  precision[rest] = 0;
                  scores[rest] = 0;
                }
                break;
              }
              precision[index] = pr[at] as number;
              scores[index] = dtScoresSorted[at] as number;
            }
          }
        }
      }
    }
    return { params: p, precision, recall, scores };
  }

  /** COCOeval.summarize for detections: the 12 standard numbers; -1 where no category has ground truth. */
  summarize(accumulation: Accumulation = this.accumulate()): SummaryStats {
    const p = this.params;
    const md = p.maxDets;
    const values = [
      summarizeOne(accumulation, true, undefined, 'all', 100),
      summarizeOne(accumulation, true, 0.5, 'all', md[2]),
      summarizeOne(accumulation, true, 0.75, 'all', md[2]),
      summarizeOne(accumulation, true, undefined, 'small', md[2]),
      summarizeOne(accumulation, true, undefined, 'medium', md[2]),
      summarizeOne(accumulation, true, undefined, 'large', md[2]),
      summarizeOne(accumulation, false, undefined, 'all', md[0]),
      summarizeOne(accumulation, false, undefined, 'all', md[1]),
      summarizeOne(accumulation, false, undefined, 'all', md[2]),
      summarizeOne(accumulation, false, undefined, 'small', md[2]),
      summarizeOne(accumulation, false, undefined, 'medium', md[2]),
      summarizeOne(accumulation, false, undefined, 'large', md[2]),
    ];
    return Object.fromEntries(SUMMARY_NAMES.map((name, i) => [name, values[i] as number])) as SummaryStats;
  }
}

/**
 * _summarize: the mean of the precision (ap) or recall entries selected by threshold, area range and maxDets,
 * over every threshold, recall point and category that has ground truth, read in numpy's C order (t, r, k).
 */
function summarizeOne(acc: Accumulation, ap: boolean, iouThr: number | undefined, areaRng: string, maxDets: number | undefined): number {
  const p = acc.params;
  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const K = p.catIds.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  const a = p.areaRngLbl.indexOf(areaRng);
  const m = maxDets === undefined ? -1 : p.maxDets.indexOf(maxDets);
  if (a < 0 || m < 0) return -1;
  const ts = iouThr === undefined ? [...Array(T).keys()] : p.iouThrs.flatMap((t, i) => (t === iouThr ? [i] : []));
  const selected: number[] = [];
  for (const t of ts) {
    if (ap) {
      for (let r = 0; r < R; r++) {
        for (let k = 0; k < K; k++) {
          const value = acc.precision[(((t * R + r) * K + k) * A + a) * M + m] as number;
          if (value > -1) selected.push(value);
        }
      }
    } else {
      for (let k = 0; k < K; k++) {
        const value = acc.recall[((t * K + k) * A + a) * M + m] as number;
        if (value > -1) selected.push(value);
      }
    }
  }
  return selected.length === 0 ? -1 : numpyMean(selected);
}

/** AP and AP50 of one category (area 'all', 100 detections), as detectron2 reports them per class; -1 without ground truth. */
export function categoryAp(acc: Accumulation, catId: number): { AP: number; AP50: number } {
  const p = acc.params;
  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const K = p.catIds.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  const k = p.catIds.indexOf(catId);
  const m = p.maxDets.indexOf(100);
  const a = p.areaRngLbl.indexOf('all');
  if (k < 0 || m < 0 || a < 0) return { AP: -1, AP50: -1 };
  const at = (t: number): number[] => {
    const values: number[] = [];
    for (let r = 0; r < R; r++) {
      const value = acc.precision[(((t * R + r) * K + k) * A + a) * M + m] as number;
      if (value > -1) values.push(value);
    }
    return values;
  };
  const all = [...Array(T).keys()].flatMap(at);
  const t50 = p.iouThrs.indexOf(0.5);
  const at50 = t50 < 0 ? [] : at(t50);
  return { AP: all.length === 0 ? -1 : numpyMean(all), AP50: at50.length === 0 ? -1 : numpyMean(at50) };
}

export interface CocoEvalResult {
  iouType: IouType;
  stats: SummaryStats;
  /** Per category id, in ascending id order. */
  perCategory: { categoryId: number; AP: number; AP50: number }[];
  accumulation: Accumulation;
}

/** evaluate(), accumulate() and summarize() with the default parameters, plus the per-category AP. */
export function cocoEvaluate(
  groundTruths: readonly GroundTruthAnnotation[],
  detections: readonly DetectionResult[],
  options: { iouType: IouType; imageIds: readonly number[]; categoryIds: readonly number[]; params?: Partial<EvalParams> },
): CocoEvalResult {
  const params = { ...defaultParams(options.iouType, options.imageIds, options.categoryIds), ...options.params };
  const cocoEval = new CocoEval(groundTruths, detections, params);
  cocoEval.evaluate();
  const accumulation = cocoEval.accumulate();
  return {
    iouType: options.iouType,
    stats: cocoEval.summarize(accumulation),
    perCategory: cocoEval.params.catIds.map((categoryId) => ({ categoryId, ...categoryAp(accumulation, categoryId) })),
    accumulation,
  };
}
