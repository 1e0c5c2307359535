/**
 * Tracking quality against ground truth with known identities: the CLEAR-MOT metrics (Bernardin & Stiefelhagen
 * 2008: MOTA, ID switches) with the fragmentation count of Li et al. 2009, and the identity metrics of Ristani et al.
 * 2016 (IDF1, IDP, IDR). Objects are compared by mask IoU, a pair counting as the same object in a frame when its
 * IoU is at least `iouThreshold` (0.5, the usual choice for segmentation tracking, e.g. MOTS).
 *
 * Where the papers leave choices open this follows py-motmetrics, the reference implementation most results are
 * computed with, so numbers are comparable:
 * - per frame, an object keeps the hypothesis it was last matched to (however long ago) when that pair is still
 *   valid; the rest are paired by a minimum-cost assignment on 1 − IoU that first maximises the number of pairs;
 * - an ID switch is an object matched to a hypothesis other than the one it was last matched to;
 * - a fragmentation is a run of frames in which an object is present but unmatched, between frames where it is
 *   matched (frames where the object is absent from the ground truth do not count);
 * - IDF1 pairs whole trajectories once for the sequence (maximum total of frames in which a pair is valid).
 */
import { solveAssignment } from './hungarian';
import { type BinaryMask, checkMask, maskArea, maskIntersection, maskIoU } from './mask-iou';

/** An object in one frame: its identity and its mask. */
export interface IdentifiedMask {
  readonly id: number;
  readonly mask: BinaryMask;
}

export interface EvaluationFrame {
  readonly truth: readonly IdentifiedMask[];
  readonly hypotheses: readonly IdentifiedMask[];
  /** Ignore regions: objects too small to judge, which a hypothesis may cover without being a false positive. */
  readonly ignored?: readonly BinaryMask[];
}

export interface EvaluationOptions {
  /** Least mask IoU at which a hypothesis and a ground-truth object are the same object in a frame. */
  iouThreshold?: number;
}

export interface TrackingMetrics {
  frames: number;
  /** Ground-truth objects summed over frames. */
  truths: number;
  /** Hypotheses (tracker outputs) summed over frames. */
  hypotheses: number;
  /** Ground-truth objects matched to a hypothesis (switches included). */
  matches: number;
  /** Ground-truth objects left unmatched (false negatives). */
  misses: number;
  /** Hypotheses left unmatched. */
  falsePositives: number;
  idSwitches: number;
  fragmentations: number;
  /** 1 − (misses + false positives + ID switches) / truths; NaN without ground truth. */
  mota: number;
  /** Mean mask IoU of the matched pairs (py-motmetrics' MOTP is 1 − this); NaN without matches. */
  meanIoU: number;
  /** Identity true positives, false positives and false negatives after the global trajectory pairing. */
  idtp: number;
  idfp: number;
  idfn: number;
  /** 2·IDTP / (truths + hypotheses); NaN when both are 0. */
  idf1: number;
  /** IDTP / hypotheses; NaN without hypotheses. */
  idp: number;
  /** IDTP / truths; NaN without ground truth. */
  idr: number;
}

/** What happened to the objects of one frame, for debugging a tracker on a sequence. */
export interface FrameEvents {
  /** [truth id, hypothesis id] of every pair matched in the frame. */
  matches: [number, number][];
  /** Truth ids matched to a different hypothesis than last time. */
  switches: number[];
  /** Truth ids left unmatched. */
  misses: number[];
  /** Hypothesis ids left unmatched. */
  falsePositives: number[];
  /** Hypothesis ids left unmatched that lie on an ignore region: left out of every count. */
  ignored: number[];
}

interface ObjectHistory {
  /** Hypothesis last matched to this object. */
  lastMatch?: number;
  /** Whether the object was unmatched in its latest frame after having been matched before. */
  interrupted: boolean;
}

/**
 * Accumulates frames one at a time (so a long video never needs all its masks in memory) and summarises them.
 */
export class TrackingEvaluator {
  private readonly threshold: number;
  private readonly objects = new Map<number, ObjectHistory>();
  /** Frames in which each (truth, hypothesis) pair is valid, for IDF1: truth id → hypothesis id → count. */
  private readonly pairFrames = new Map<number, Map<number, number>>();
  private readonly truthFrames = new Map<number, number>();
  private readonly hypothesisFrames = new Map<number, number>();
  private frames = 0;
  private truths = 0;
  private hypotheses = 0;
  private matches = 0;
  private switches = 0;
  private fragmentations = 0;
  private iouSum = 0;

  constructor(options: EvaluationOptions = {}) {
    const threshold = options.iouThreshold ?? 0.5;
    if (!(threshold > 0 && threshold <= 1)) {
      throw new RangeError(`TrackingEvaluator: iouThreshold must be in (0, 1], got ${threshold}`);
    }
    this.threshold = threshold;
  }

  /**
   * `ignored` are ignore regions (COCO's crowd rule, as MOTChallenge's distractors): a hypothesis that matches no
   * object but has at least the IoU threshold's share of its pixels on one is dropped from the frame, counted
   * neither as a false positive nor towards its identity.
   */
  addFrame(truth: readonly IdentifiedMask[], hypotheses: readonly IdentifiedMask[], ignored: readonly BinaryMask[] = []): FrameEvents {
    const where = `TrackingEvaluator: frame ${this.frames}`;
    checkIds(truth, `${where} ground truth`);
    checkIds(hypotheses, `${where} hypotheses`);
    ignored.forEach((mask, k) => checkMask(mask, `${where} ignore region ${k}`));
    this.frames++;

    const n = truth.length;
    const m = hypotheses.length;
    const truthAreas = truth.map((t) => maskArea(t.mask));
    const hypothesisAreas = hypotheses.map((h) => maskArea(h.mask));
    const iou = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) iou[i * m + j] = maskIoU(truth[i].mask, hypotheses[j].mask, truthAreas[i], hypothesisAreas[j]);
    }

    const hypothesisOf = new Int32Array(n).fill(-1);
    const taken = new Uint8Array(m);
    // 1. Correspondences still valid from the object's last match are kept, so a tracker is not charged a switch
    //    when another hypothesis happens to fit slightly better.
    for (let i = 0; i < n; i++) {
      const last = this.objects.get(truth[i].id)?.lastMatch;
      if (last === undefined) continue;
      const j = hypotheses.findIndex((h) => h.id === last);
      if (j >= 0 && taken[j] === 0 && iou[i * m + j] >= this.threshold) {
        hypothesisOf[i] = j;
        taken[j] = 1;
      }
    }
    // 2. The rest: the most pairs, then the least total distance.
    const rows = [...Array(n).keys()].filter((i) => hypothesisOf[i] < 0);
    const cols = [...Array(m).keys()].filter((j) => taken[j] === 0);
    const cost = new Float64Array(rows.length * cols.length);
    rows.forEach((i, r) =>
      cols.forEach((j, c) => {
        const value = iou[i * m + j];
        cost[r * cols.length + c] = value >= this.threshold ? 1 - value : Infinity;
      }),
    );
    const assignment = solveAssignment(cost, rows.length, cols.length);
    rows.forEach((i, r) => {
      const c = assignment.rowToCol[r];
      if (c < 0) return;
      hypothesisOf[i] = cols[c];
      taken[cols[c]] = 1;
    });

    const dropped = hypotheses.map(
      (h, j) =>
        taken[j] === 0 &&
        hypothesisAreas[j] > 0 &&
        ignored.some((region) => maskIntersection(region, h.mask) >= this.threshold * (hypothesisAreas[j] as number)),
    );
    const kept = hypotheses.filter((_, j) => !dropped[j]);
    this.truths += n;
    this.hypotheses += kept.length;
    for (const t of truth) this.truthFrames.set(t.id, (this.truthFrames.get(t.id) ?? 0) + 1);
    for (const h of kept) this.hypothesisFrames.set(h.id, (this.hypothesisFrames.get(h.id) ?? 0) + 1);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        if (dropped[j] || (iou[i * m + j] as number) < this.threshold) continue;
        const row = this.pairFrames.get(truth[i].id) ?? new Map<number, number>();
        row.set(hypotheses[j].id, (row.get(hypotheses[j].id) ?? 0) + 1);
        this.pairFrames.set(truth[i].id, row);
      }
    }

    const events: FrameEvents = { matches: [], switches: [], misses: [], falsePositives: [], ignored: [] };
    for (let i = 0; i < n; i++) {
      const id = truth[i].id;
      const history = this.objects.get(id) ?? { interrupted: false };
      this.objects.set(id, history);
      const j = hypothesisOf[i];
      if (j < 0) {
        events.misses.push(id);
        if (history.lastMatch !== undefined) history.interrupted = true;
        continue;
      }
      const hypothesisId = hypotheses[j].id;
      events.matches.push([id, hypothesisId]);
      this.matches++;
      this.iouSum += iou[i * m + j];
      if (history.interrupted) this.fragmentations++;
      history.interrupted = false;
      if (history.lastMatch !== undefined && history.lastMatch !== hypothesisId) {
        this.switches++;
        events.switches.push(id);
      }
      history.lastMatch = hypothesisId;
    }
    hypotheses.forEach((h, j) => {
      if (dropped[j]) events.ignored.push(h.id);
      else if (taken[j] === 0) events.falsePositives.push(h.id);
    });
    return events;
  }

  summary(): TrackingMetrics {
    const misses = this.truths - this.matches;
    const falsePositives = this.hypotheses - this.matches;
    const idtp = this.identityTruePositives();
    return {
      frames: this.frames,
      truths: this.truths,
      hypotheses: this.hypotheses,
      matches: this.matches,
      misses,
      falsePositives,
      idSwitches: this.switches,
      fragmentations: this.fragmentations,
      mota: this.truths > 0 ? 1 - (misses + falsePositives + this.switches) / this.truths : NaN,
      meanIoU: this.matches > 0 ? this.iouSum / this.matches : NaN,
      idtp,
      idfp: this.hypotheses - idtp,
      idfn: this.truths - idtp,
      idf1: this.truths + this.hypotheses > 0 ? (2 * idtp) / (this.truths + this.hypotheses) : NaN,
      idp: this.hypotheses > 0 ? idtp / this.hypotheses : NaN,
      idr: this.truths > 0 ? idtp / this.truths : NaN,
    };
  }

  /**
   * The one-to-one pairing of truth and hypothesis trajectories that maximises the frames they agree on (Ristani
   * et al.'s minimum IDFN + IDFP pairing is the same pairing), and that total.
   */
  private identityTruePositives(): number {
    const truthIds = [...this.truthFrames.keys()];
    const hypothesisIds = [...this.hypothesisFrames.keys()];
    const columnOf = new Map(hypothesisIds.map((id, c) => [id, c]));
    const cost = new Float64Array(truthIds.length * hypothesisIds.length);
    truthIds.forEach((id, r) => {
      for (const [hypothesisId, frames] of this.pairFrames.get(id) ?? []) {
        cost[r * hypothesisIds.length + (columnOf.get(hypothesisId) as number)] = -frames;
      }
    });
    // All costs are finite and ≤ 0, so the complete assignment is the maximum-weight one, zero pairs aside.
    // `0 −` rather than unary minus: an empty pairing would otherwise report IDTP as -0.
    return 0 - solveAssignment(cost, truthIds.length, hypothesisIds.length).cost;
  }
}

/** Evaluates a whole sequence at once. */
export function evaluateTracking(frames: Iterable<EvaluationFrame>, options: EvaluationOptions = {}): TrackingMetrics {
  const evaluator = new TrackingEvaluator(options);
  for (const frame of frames) evaluator.addFrame(frame.truth, frame.hypotheses, frame.ignored);
  return evaluator.summary();
}

function checkIds(objects: readonly IdentifiedMask[], where: string): void {
  const seen = new Set<number>();
  for (const o of objects) {
    // One id twice in a frame would be one trajectory in two places: no matching could score it.
    if (seen.has(o.id)) throw new RangeError(`${where}: id ${o.id} appears twice`);
    seen.add(o.id);
    checkMask(o.mask, `${where} id ${o.id}`);
  }
}
