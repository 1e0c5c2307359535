/**
 * Multi-object tracking by mask IoU: the stage between the detector and everything that draws or emits instances.
 *
 * Each inferred frame, every live track predicts where its mask is now (constant velocity), the predictions are
 * compared with the frame's detections by mask IoU, and an optimal assignment (Hungarian, `./hungarian`) pairs
 * them; a pair is allowed only for the same class and a mask IoU of at least `iouThreshold`. Matched tracks take the
 * detection; unmatched detections start tentative tracks; unmatched tracks count a miss. Frames the model skipped
 * (`inferred: false`) carry every reported track forward by its velocity, so the output keeps one entry per frame
 * and instances move smoothly between inferences.
 *
 * The design follows SORT (Bewley et al. 2016) and DeepSORT's track life cycle (Wojke et al. 2017) with mask IoU in
 * place of box IoU, because boxes of neighbouring road users overlap far more than their masks do:
 * - a track is *tentative* until it has `minHits` matches and is dropped at its first miss (a single spurious
 *   detection must not leave a ghost); then *confirmed*. A confirmed track the model stops finding is *lost*: kept,
 *   moving by its last velocity, so that the object can be matched again after an occlusion, but reported only for
 *   `coast` inferred frames, and deleted after more than `maxAge` misses in a row or once its prediction has left
 *   the image;
 * - confirmed tracks are matched before tentative ones, so a track that was hidden can take its object back from
 *   a tentative track started on the same object while it re-emerged;
 * - ids come from a counter, handed out when a track is first reported (so consumers see 1, 2, 3, …) and never
 *   reused, so a consumer can key state on them.
 *
 * Motion is estimated in pixels per second of presentation time, not per frame: a live source skips inference on
 * frames it cannot afford and its frame intervals vary, and a velocity per second moves a track correctly across
 * any gap. A partially hidden or truncated object's box shrinks from one side, which would drag a centre-based
 * estimate, and its mask is only the part in view. So a track keeps its most complete recent view (its *template*)
 * and the object's offset from it; predictions are the template moved by that offset plus velocity × elapsed time,
 * and each detection corrects the offset by whichever of its two edges and its centre agrees with the prediction
 * when the detection's extent differs from the template's (see `axisCorrection`); image-border edges never count.
 *
 * Kept whole although long: `MaskTracker` is one life cycle over one set of tracks, whose steps (predict, match,
 * update, coast, report) share that state; the pure parts it builds on live beside it (`./hungarian`, `./mask-iou`,
 * `./backfill`).
 */
import { solveAssignment } from './hungarian';
import {
  type BinaryMask,
  type Box,
  boxIntersection,
  boxIoU,
  checkMask,
  maskArea,
  maskIoU,
  shiftBox,
  shiftMask,
} from './mask-iou';

/** One detection, as the model returns it (`Detection` in src/model/mask-rcnn.ts has exactly this shape). */
export interface TrackDetection {
  /** x1, y1, x2, y2 in image pixels. */
  readonly box: readonly [number, number, number, number];
  readonly score: number;
  readonly classId: number;
  readonly label: string;
  /** The instance's binary mask, cropped to a rectangle of the image. */
  readonly mask: BinaryMask;
}

/** What the tracker needs of a frame. */
export interface TrackInput {
  /** Frame number in the source; strictly increasing from frame to frame. */
  readonly index: number;
  /** Presentation time in seconds: the clock motion is measured in. */
  readonly pts: number;
  readonly width: number;
  readonly height: number;
  /** False when the model did not run on this frame; its tracks are then carried by motion. */
  readonly inferred: boolean;
  /** The model's detections; absent or empty on frames it did not run on. */
  readonly detections?: readonly TrackDetection[];
}

export type TrackState = 'tentative' | 'confirmed';

/** One tracked object in one frame. */
export interface TrackedInstance {
  /** Stable across frames, a positive integer, never reused for another object. */
  id: number;
  classId: number;
  label: string;
  /** Detector score of the last detection matched to the track. */
  score: number;
  /** The matched detection's box, or on other frames the last one moved by the track's motion (clipped). */
  box: Box;
  /** The matched detection's mask, or on other frames the last one moved by the track's motion (clipped). */
  mask: BinaryMask;
  state: TrackState;
  /** Frames (inferred or carried) since the track started; 1 on its first frame. */
  age: number;
  /** Inferred frames on which a detection was matched to the track. */
  hits: number;
  /** Inferred frames in a row, up to this one, on which the track found no detection. */
  misses: number;
  /** Estimated motion of the object, pixels per second: [vx, vy]. */
  velocity: [number, number];
}

export interface TrackerConfig {
  /** Least mask IoU between a track's predicted mask and a detection for them to be matched (`--track-iou`). */
  iouThreshold: number;
  /** Matches a track needs to be confirmed; tentative tracks are not reported unless `reportTentative`. */
  minHits: number;
  /**
   * Inferred frames in a row a confirmed track may go unmatched and still be kept (`--track-max-age`); the next miss
   * deletes it. Counted in inferred frames, not in seconds nor in all frames: a miss is the model running and not
   * finding the object, while a frame the model skipped is no evidence either way, so a source that infers one
   * frame in three keeps a hidden object as many chances to reappear as one that infers every frame.
   */
  maxAge: number;
  /**
   * Least box IoU between a track's predicted box and a detection's box for their masks to be compared at all; 0
   * compares any pair whose boxes overlap. Only a pre-filter: matching is decided by mask IoU.
   */
  boxPrefilter: number;
  /**
   * Weight of the newest velocity measurement in the running estimate (exponential smoothing), in (0, 1]: 1 trusts
   * the last two detections alone, smaller values average out box jitter over more frames.
   */
  motionSmoothing: number;
  /**
   * Inferred frames a confirmed track is still reported, moved by its motion, after the model stopped finding it.
   * 0 (the default) reports only what the model saw at its last run: a planner would rather lose an object for a
   * frame than be shown one that has gone.
   */
  coast: number;
  /** Report tentative tracks too (debugging, or consumers that want every detection with an id). */
  reportTentative: boolean;
}

export const TRACKER_DEFAULTS: Readonly<TrackerConfig> = Object.freeze({
  iouThreshold: 0.3,
  minHits: 3,
  maxAge: 30,
  boxPrefilter: 0,
  motionSmoothing: 0.5,
  coast: 0,
  reportTentative: false,
});

/** Checks every setting and fills the missing ones from `TRACKER_DEFAULTS`. */
export function resolveTrackerConfig(config: Partial<TrackerConfig> = {}): TrackerConfig {
  const resolved: TrackerConfig = { ...TRACKER_DEFAULTS, ...config };
  const problems: string[] = [];
  const fraction = (key: keyof TrackerConfig, min: number, minIncluded: boolean): void => {
    const v = resolved[key];
    if (typeof v !== 'number' || !(minIncluded ? v >= min : v > min) || !(v <= 1)) {
      problems.push(`${key} must be a number in ${minIncluded ? '[' : '('}${min}, 1], got ${String(v)}`);
    }
  };
  const count = (key: keyof TrackerConfig, min: number): void => {
    const v = resolved[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      problems.push(`${key} must be an integer >= ${min}, got ${String(v)}`);
    }
  };
  fraction('iouThreshold', 0, false);
  fraction('boxPrefilter', 0, true);
  fraction('motionSmoothing', 0, false);
  count('minHits', 1);
  count('maxAge', 0);
  count('coast', 0);
  if (typeof resolved.reportTentative !== 'boolean') problems.push(`reportTentative must be true or false`);
  if (resolved.coast > resolved.maxAge) {
    problems.push(`coast (${resolved.coast}) cannot exceed maxAge (${resolved.maxAge})`);
  }
  if (problems.length > 0) throw new RangeError(`tracker config: ${problems.join('; ')}`);
  return resolved;
}

/** Edges within this many pixels of the image border are where the image ends, not where the object does. */
const BORDER_PX = 1;
/**
 * A detection whose extent differs from its track's template by no more than this (pixels, or fraction of the
 * template's size) shows the whole object: its centre is trusted over its edges, which box jitter moves apart.
 */
const EXTENT_TOLERANCE_PX = 2;
const EXTENT_TOLERANCE_FRACTION = 0.02;
/**
 * A view becomes the track's template when its area is at least this fraction of the largest recent view: less is
 * taken as partly hidden or cut off by the image border.
 */
const TEMPLATE_AREA_FRACTION = 0.9;
/** Half-life, in seconds, of the largest-recent-area memory: objects moving away legitimately shrink. */
const REFERENCE_AREA_HALF_LIFE_S = 1;

interface View {
  readonly box: Box;
  readonly mask: BinaryMask;
  readonly area: number;
}

interface Prediction extends View {
  readonly pts: number;
}

interface Track {
  /**
   * 0 until the track is first reported: ids are handed out in the order objects appear in the output, so the
   * ids a consumer sees are 1, 2, 3, … and not the counter of every tentative track that died unseen.
   */
  id: number;
  readonly classId: number;
  label: string;
  score: number;
  state: TrackState;
  age: number;
  hits: number;
  misses: number;
  /** The last matched detection and its time. */
  last: View;
  lastPts: number;
  /** The most complete recent view, and how far the object had moved from it at the last detection. */
  template: View;
  offset: [number, number];
  /** Largest recent mask area, decaying with `REFERENCE_AREA_HALF_LIFE_S`. */
  referenceArea: number;
  velocity: [number, number];
  /** Whether each axis of `velocity` has been measured yet. */
  measured: [boolean, boolean];
  /** Where the track expects its object at some pts: for matching (template-based) and for reporting (last view). */
  matchPrediction?: Prediction;
  reportPrediction?: Prediction;
}

/**
 * The tracker: feed it every frame in order with `update`; it returns the frame's tracked instances. One instance
 * tracks one video; it keeps no reference to a frame after `update` returns except the masks it reports.
 */
export class MaskTracker {
  readonly config: Readonly<TrackerConfig>;
  private tracks: Track[] = [];
  private nextId = 1;
  private lastIndex = -Infinity;

  constructor(config: Partial<TrackerConfig> = {}) {
    this.config = Object.freeze(resolveTrackerConfig(config));
  }

  /** Live tracks, tentative and lost ones included. */
  get size(): number {
    return this.tracks.length;
  }

  /**
   * Advances every track to this frame and returns the instances to report, by descending score. Masks are shared
   * with the detections (and with earlier results): treat them as read-only.
   */
  update(frame: TrackInput): TrackedInstance[] {
    checkFrame(frame, this.lastIndex);
    this.lastIndex = frame.index;
    for (const track of this.tracks) track.age++;
    const detections = frame.detections ?? [];
    if (!frame.inferred) {
      if (detections.length > 0) {
        throw new RangeError(`tracker: frame ${frame.index} is not inferred but has ${detections.length} detections`);
      }
      return this.report(frame, false);
    }
    detections.forEach((d, k) => checkDetection(d, `tracker: frame ${frame.index} detection ${k}`));
    const areas = detections.map((d) => maskArea(d.mask));
    const matchedTrack = this.associate(frame, detections, areas);
    this.tracks = this.tracks.filter((track) => track.misses === 0 || this.survives(track, frame));
    detections.forEach((d, k) => {
      // A detection with an empty mask can never reach any IoU threshold: a track started on it could only die.
      if (!matchedTrack[k] && areas[k] > 0) this.tracks.push(this.startTrack(d, areas[k], frame.pts));
    });
    return this.report(frame, true);
  }

  /** Matches detections to tracks and updates the tracks; returns, for each detection, whether it found one. */
  private associate(frame: TrackInput, detections: readonly TrackDetection[], areas: readonly number[]): boolean[] {
    const n = this.tracks.length;
    const m = detections.length;
    const cost = new Float64Array(n * m).fill(Infinity);
    this.tracks.forEach((track, t) => {
      const predicted = this.matchPrediction(track, frame);
      if (predicted.area === 0) return;
      detections.forEach((d, k) => {
        if (d.classId !== track.classId) return;
        const boxOk =
          this.config.boxPrefilter > 0
            ? boxIoU(predicted.box, d.box) >= this.config.boxPrefilter
            : boxIntersection(predicted.box, d.box) > 0;
        if (!boxOk) return;
        // The masks cannot share more pixels than the smaller one has or than their crops' overlap holds: when even
        // that would fall short of the threshold, counting the shared pixels is wasted work.
        const most = Math.min(predicted.area, areas[k], cropOverlap(predicted.mask, d.mask));
        if (most < this.config.iouThreshold * (predicted.area + areas[k] - most)) return;
        const iou = maskIoU(predicted.mask, d.mask, predicted.area, areas[k]);
        if (iou >= this.config.iouThreshold) cost[t * m + k] = 1 - iou;
      });
    });

    const matchedTrack = new Array<boolean>(m).fill(false);
    const matched = new Set<Track>();
    // Confirmed tracks first, then tentative ones on what is left (see the module comment).
    for (const state of ['confirmed', 'tentative'] as const) {
      const rows = this.tracks.map((track, t) => (track.state === state ? t : -1)).filter((t) => t >= 0);
      const cols = detections.map((_, k) => k).filter((k) => !matchedTrack[k]);
      if (rows.length === 0 || cols.length === 0) continue;
      const sub = new Float64Array(rows.length * cols.length);
      rows.forEach((t, r) => cols.forEach((k, c) => (sub[r * cols.length + c] = cost[t * m + k])));
      // With the limit at 1 every allowed pair (cost 1 − IoU < 1) is worth taking, and the assignment maximises the
      // summed IoU of the pairs it makes rather than first their number: one close match is not broken up into two
      // poor ones just to pair more.
      const assignment = solveAssignment(sub, rows.length, cols.length, { costLimit: 1 });
      rows.forEach((t, r) => {
        const c = assignment.rowToCol[r];
        if (c < 0) return;
        const k = cols[c];
        matchedTrack[k] = true;
        matched.add(this.tracks[t]);
        this.observe(this.tracks[t], detections[k], areas[k], frame);
      });
    }
    for (const track of this.tracks) if (!matched.has(track)) track.misses++;
    return matchedTrack;
  }

  /** Whether an unmatched track lives on. */
  private survives(track: Track, frame: TrackInput): boolean {
    if (track.state === 'tentative') return false;
    if (track.misses > this.config.maxAge) return false;
    // Wholly outside the image, its mask cannot overlap any detection again: it left.
    return this.matchPrediction(track, frame).area > 0;
  }

  private startTrack(detection: TrackDetection, area: number, pts: number): Track {
    const view: View = { box: copyBox(detection.box), mask: detection.mask, area };
    return {
      id: 0,
      classId: detection.classId,
      label: detection.label,
      score: detection.score,
      state: this.config.minHits <= 1 ? 'confirmed' : 'tentative',
      age: 1,
      hits: 1,
      misses: 0,
      last: view,
      lastPts: pts,
      template: view,
      offset: [0, 0],
      referenceArea: area,
      velocity: [0, 0],
      measured: [false, false],
    };
  }

  /** Takes a matched detection into the track: motion, template, life cycle. */
  private observe(track: Track, detection: TrackDetection, area: number, frame: TrackInput): void {
    const view: View = { box: copyBox(detection.box), mask: detection.mask, area };
    // Equal or backward timestamps give no time for motion; the position measured is still real.
    const dt = frame.pts - track.lastPts;
    const elapsed = Math.max(dt, 0);
    const limits = [frame.width, frame.height];
    for (let axis = 0; axis < 2; axis++) {
      const predicted = track.offset[axis] + track.velocity[axis] * elapsed;
      const correction = axisCorrection(
        track.template.box[axis] + predicted,
        track.template.box[axis + 2] + predicted,
        view.box[axis],
        view.box[axis + 2],
        { templateLo: track.template.box[axis], templateHi: track.template.box[axis + 2], limit: limits[axis] },
        track.measured[axis],
      );
      const offset = predicted + (correction ?? 0);
      if (correction !== undefined && dt > 0) {
        const measuredVelocity = (offset - track.offset[axis]) / dt;
        track.velocity[axis] = track.measured[axis]
          ? track.velocity[axis] + this.config.motionSmoothing * (measuredVelocity - track.velocity[axis])
          : measuredVelocity;
        track.measured[axis] = true;
      }
      track.offset[axis] = offset;
    }
    track.referenceArea = Math.max(area, track.referenceArea * Math.pow(0.5, elapsed / REFERENCE_AREA_HALF_LIFE_S));
    if (area >= TEMPLATE_AREA_FRACTION * track.referenceArea) {
      track.template = view;
      track.offset = [0, 0];
    }
    track.last = view;
    track.lastPts = frame.pts;
    track.label = detection.label;
    track.score = detection.score;
    track.hits++;
    track.misses = 0;
    if (track.hits >= this.config.minHits) track.state = 'confirmed';
    track.matchPrediction = undefined;
    track.reportPrediction = undefined;
  }

  /** The template moved to where the track expects the object at this frame: what detections are matched against. */
  private matchPrediction(track: Track, frame: TrackInput): Prediction {
    const cached = track.matchPrediction;
    if (cached && cached.pts === frame.pts) return cached;
    const dt = Math.max(frame.pts - track.lastPts, 0);
    const dx = track.offset[0] + track.velocity[0] * dt;
    const dy = track.offset[1] + track.velocity[1] * dt;
    const predicted = movedView(track.template, dx, dy, frame, dx === 0 && dy === 0);
    track.matchPrediction = { ...predicted, pts: frame.pts };
    return track.matchPrediction;
  }

  /** The last detection moved by the motion since: what is reported on frames where the track was not matched. */
  private reportPrediction(track: Track, frame: TrackInput): Prediction {
    const cached = track.reportPrediction;
    if (cached && cached.pts === frame.pts) return cached;
    const dt = Math.max(frame.pts - track.lastPts, 0);
    const predicted = movedView(track.last, track.velocity[0] * dt, track.velocity[1] * dt, frame, dt === 0);
    track.reportPrediction = { ...predicted, pts: frame.pts };
    return track.reportPrediction;
  }

  private report(frame: TrackInput, inferred: boolean): TrackedInstance[] {
    const out: TrackedInstance[] = [];
    for (const track of this.tracks) {
      const reportable =
        track.state === 'confirmed' ? track.misses <= this.config.coast : this.config.reportTentative && track.misses === 0;
      if (!reportable) continue;
      // After association, a track with no miss on an inferred frame was matched (or started) on this very frame.
      const view = inferred && track.misses === 0 ? track.last : this.reportPrediction(track, frame);
      if (view.area === 0) continue;
      if (track.id === 0) track.id = this.nextId++;
      out.push({
        id: track.id,
        classId: track.classId,
        label: track.label,
        score: track.score,
        box: [view.box[0], view.box[1], view.box[2], view.box[3]],
        mask: view.mask,
        state: track.state,
        age: track.age,
        hits: track.hits,
        misses: track.misses,
        velocity: [track.velocity[0], track.velocity[1]],
      });
    }
    return out.sort((a, b) => b.score - a.score || a.id - b.id);
  }
}

/** The view moved by (dx, dy) and clipped to the frame; `still` skips the copy when nothing can change. */
function movedView(view: View, dx: number, dy: number, frame: TrackInput, still: boolean): View {
  if (still) return view;
  const mask = shiftMask(view.mask, dx, dy, frame.width, frame.height);
  // A crop that kept its size lost nothing to the image border: same pixels, same area, no need to count again.
  const area = mask.width === view.mask.width && mask.height === view.mask.height ? view.area : maskArea(mask);
  return { box: shiftBox(view.box, dx, dy, frame.width, frame.height), mask, area };
}

interface AxisLimits {
  /** The template's edges on this axis, where it was seen (an edge on the image border is not the object's). */
  templateLo: number;
  templateHi: number;
  /** The image's size on this axis. */
  limit: number;
}

/**
 * How far a detection (edges `lo`, `hi` on one axis) lies from where the track predicted its template
 * (`predictedLo`, `predictedHi`), or undefined when that cannot be told. When the detection has the template's
 * extent, the centres tell. When not, part of the object may be hidden (by another object, by the image border)
 * or it changed size: of the centre and the two edges, the one that agrees best with the prediction is taken as the
 * object's own, so a hidden side does not drag the estimate, while a symmetric growth still reads as no motion.
 * Before the track has a velocity on this axis there is no prediction to trust, and the centres tell. Edges on the
 * image border, in the detection or in the template, never count, nor does a centre between one and another edge.
 */
export function axisCorrection(
  predictedLo: number,
  predictedHi: number,
  lo: number,
  hi: number,
  limits: AxisLimits,
  hasVelocity: boolean,
): number | undefined {
  const loFree = lo >= BORDER_PX && limits.templateLo >= BORDER_PX;
  const hiFree = hi <= limits.limit - BORDER_PX && limits.templateHi <= limits.limit - BORDER_PX;
  const rLo = lo - predictedLo;
  const rHi = hi - predictedHi;
  if (loFree && hiFree) {
    const rMid = (rLo + rHi) / 2;
    const tolerance = Math.max(EXTENT_TOLERANCE_PX, EXTENT_TOLERANCE_FRACTION * (predictedHi - predictedLo));
    if (!hasVelocity || Math.abs(rHi - rLo) <= tolerance) return rMid;
    let best = rMid;
    for (const candidate of [rLo, rHi]) if (Math.abs(candidate) < Math.abs(best)) best = candidate;
    return best;
  }
  if (loFree) return rLo;
  if (hiFree) return rHi;
  return undefined;
}

function copyBox(box: readonly [number, number, number, number]): Box {
  return [box[0], box[1], box[2], box[3]];
}

function checkFrame(frame: TrackInput, lastIndex: number): void {
  const where = `tracker: frame ${String(frame.index)}`;
  if (!Number.isInteger(frame.index)) throw new RangeError(`${where}: index must be an integer`);
  // Motion is estimated from consecutive frames; a frame out of order would read as the objects jumping back.
  if (frame.index <= lastIndex) throw new RangeError(`${where}: frames must come in order (previous index ${lastIndex})`);
  if (!Number.isFinite(frame.pts)) throw new RangeError(`${where}: pts must be finite, got ${frame.pts}`);
  if (!Number.isInteger(frame.width) || !Number.isInteger(frame.height) || frame.width <= 0 || frame.height <= 0) {
    throw new RangeError(`${where}: size must be positive integers, got ${frame.width}×${frame.height}`);
  }
}

function checkDetection(d: TrackDetection, where: string): void {
  if (d.box.length !== 4 || !d.box.every(Number.isFinite)) throw new RangeError(`${where}: box must be 4 finite numbers`);
  if (!Number.isInteger(d.classId)) throw new RangeError(`${where}: classId must be an integer, got ${d.classId}`);
  if (!Number.isFinite(d.score)) throw new RangeError(`${where}: score must be finite, got ${d.score}`);
  checkMask(d.mask, where);
}

/** Pixels in the overlap of two masks' crop rectangles. */
function cropOverlap(a: BinaryMask, b: BinaryMask): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

