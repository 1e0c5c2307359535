import { firstValueFrom, from, lastValueFrom, toArray } from 'rxjs';
import type { Detection } from '../../src/model/mask-rcnn';
import { trackInstances } from '../../src/track/operator';
import {
  MaskTracker,
  type TrackDetection,
  type TrackInput,
  TRACKER_DEFAULTS,
  axisCorrection,
  resolveTrackerConfig,
} from '../../src/track/tracker';

const W = 320;
const H = 240;

/** A filled square detection at (x, y), `size` px, clipped to the image like the model's crops. */
function square(x: number, y: number, size = 40, classId = 3, score = 0.9): TrackDetection {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(W, Math.round(x) + size);
  const y1 = Math.min(H, Math.round(y) + size);
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  return {
    box: [x0, y0, x0 + width, y0 + height],
    score,
    classId,
    label: classId === 1 ? 'person' : 'car',
    mask: { x: x0, y: y0, width, height, data: new Uint8Array(width * height).fill(1) },
  };
}

/** Frame `index` at 30 fps. */
function frame(index: number, detections?: TrackDetection[]): TrackInput {
  const inferred = detections !== undefined;
  return { index, pts: index / 30, width: W, height: H, inferred, ...(detections ? { detections } : {}) };
}

describe('MaskTracker life cycle', () => {
  it('confirms a track after minHits matches and reports it from then on', () => {
    const tracker = new MaskTracker();
    expect(tracker.update(frame(0, [square(10, 10)]))).toEqual([]);
    expect(tracker.update(frame(1, [square(12, 10)]))).toEqual([]);
    const [instance] = tracker.update(frame(2, [square(14, 10)]));
    expect(instance).toMatchObject({ id: 1, state: 'confirmed', hits: 3, misses: 0, age: 3, classId: 3, label: 'car' });
    expect(instance.box).toEqual([14, 10, 54, 50]);
    // 2 px per frame at 30 fps.
    expect(instance.velocity[0]).toBeCloseTo(60, 6);
    expect(instance.velocity[1]).toBeCloseTo(0, 6);
  });

  it('reports tentative tracks only on request', () => {
    const tracker = new MaskTracker({ reportTentative: true });
    const out = tracker.update(frame(0, [square(10, 10)]));
    expect(out).toEqual([expect.objectContaining({ id: 1, state: 'tentative', hits: 1 })]);
  });

  it('drops a tentative track at its first miss; ids go to tracks as they are first reported, never reused', () => {
    const tracker = new MaskTracker({ maxAge: 1 });
    tracker.update(frame(0, [square(10, 10)]));
    tracker.update(frame(1, [square(10, 10)]));
    tracker.update(frame(2, []));
    expect(tracker.size).toBe(0);
    // The track that died unseen took no id: the first reported track is #1.
    for (let f = 3; f < 5; f++) tracker.update(frame(f, [square(10, 10)]));
    expect(tracker.update(frame(5, [square(10, 10)]))[0].id).toBe(1);
    for (let f = 6; f < 9; f++) tracker.update(frame(f, []));
    for (let f = 9; f < 11; f++) tracker.update(frame(f, [square(10, 10)]));
    const [again] = tracker.update(frame(11, [square(10, 10)]));
    expect(again.id).toBe(2);
  });

  it('counts maxAge in inferred frames: skipped frames in between do not age a lost track', () => {
    const tracker = new MaskTracker({ maxAge: 2 });
    let index = 0;
    for (; index < 3; index++) tracker.update(frame(index, [square(100, 100)]));
    // Two inferred misses, each followed by 20 skipped frames: still alive, not reported (coast 0).
    for (let miss = 1; miss <= 2; miss++) {
      expect(tracker.update(frame(index++, []))).toEqual([]);
      for (let k = 0; k < 20; k++) expect(tracker.update(frame(index++))).toEqual([]);
      expect(tracker.size).toBe(1);
    }
    // The object is back where the (still) track expects it: same id, misses reset.
    const [back] = tracker.update(frame(index++, [square(100, 100)]));
    expect(back).toMatchObject({ id: 1, misses: 0, hits: 4 });
    // Three inferred misses in a row delete it; a detection there afterwards is a new object.
    for (let miss = 0; miss < 3; miss++) tracker.update(frame(index++, []));
    expect(tracker.size).toBe(0);
    tracker.update(frame(index++, [square(100, 100)]));
    expect(tracker.update(frame(index++, [square(100, 100)]))).toEqual([]);
  });

  it('carries a confirmed track over skipped frames by its velocity in px/s, whatever the frame spacing', () => {
    const tracker = new MaskTracker();
    // 3 px per frame = 90 px/s to the right, 1 px per frame = 30 px/s down.
    for (let f = 0; f < 3; f++) tracker.update(frame(f, [square(10 + 3 * f, 20 + f)]));
    // Frame 12 is 10 frames (1/3 s) after frame 2: 30 px right, 10 px down.
    const [carried] = tracker.update({ index: 12, pts: 12 / 30, width: W, height: H, inferred: false });
    expect(carried.box[0]).toBeCloseTo(46, 6);
    expect(carried.box[1]).toBeCloseTo(32, 6);
    expect(carried.mask).toMatchObject({ x: 46, y: 32, width: 40, height: 40 });
    expect(carried).toMatchObject({ id: 1, hits: 3, misses: 0, age: 4, score: 0.9 });
    // Back on the track at frame 15: matched, not a new object.
    expect(tracker.update(frame(15, [square(55, 35)]))[0]).toMatchObject({ id: 1, hits: 4 });
  });

  it('reports a lost track for `coast` inferred frames, at its predicted place', () => {
    const tracker = new MaskTracker({ coast: 1 });
    for (let f = 0; f < 3; f++) tracker.update(frame(f, [square(10 + 3 * f, 20)]));
    const [coasting] = tracker.update(frame(3, []));
    expect(coasting).toMatchObject({ id: 1, misses: 1 });
    // Last seen at x = 16 on frame 2, moving 3 px per frame.
    expect(coasting.box[0]).toBeCloseTo(19, 6);
    expect(tracker.update(frame(4))).toHaveLength(1);
    expect(tracker.update(frame(5, []))).toEqual([]);
  });

  it('starts a new track for a detection far from every prediction; deletes tracks that leave the image', () => {
    const tracker = new MaskTracker({ minHits: 1 });
    expect(tracker.update(frame(0, [square(10, 10)]))[0].id).toBe(1);
    // 40 px squares 25 px apart: IoU 15·40 / 65·40 = 0.23 < 0.3.
    expect(tracker.update(frame(1, [square(35, 10)]))[0].id).toBe(2);
    expect(tracker.size).toBe(2);

    // A car leaving on the right at 10 px per frame: once its predicted mask is wholly outside, it is deleted,
    // long before maxAge (30) misses.
    const leaving = new MaskTracker({ minHits: 1 });
    for (let f = 0; f < 3; f++) leaving.update(frame(f, [square(270 + 10 * f, 100)]));
    for (let f = 3; f < 6; f++) leaving.update(frame(f, []));
    expect(leaving.size).toBe(0);
  });

  it('gates by class: a person on a car track is a new track', () => {
    const tracker = new MaskTracker({ minHits: 1 });
    tracker.update(frame(0, [square(10, 10, 40, 3)]));
    const [person] = tracker.update(frame(1, [square(10, 10, 40, 1)]));
    expect(person).toMatchObject({ id: 2, classId: 1, label: 'person' });
  });

  it('pre-filters by box IoU when asked', () => {
    // Moved by 8 px: mask and box IoU both 32/48 = 0.67.
    const loose = new MaskTracker({ minHits: 1 });
    loose.update(frame(0, [square(10, 10)]));
    expect(loose.update(frame(1, [square(18, 10)]))[0].id).toBe(1);
    const strict = new MaskTracker({ minHits: 1, boxPrefilter: 0.8 });
    strict.update(frame(0, [square(10, 10)]));
    expect(strict.update(frame(1, [square(18, 10)]))[0].id).toBe(2);
  });

  it('pairs tracks and detections by overlap, not by the order or score of the detections', () => {
    const tracker = new MaskTracker({ minHits: 1, iouThreshold: 0.1 });
    tracker.update(frame(0, [square(0, 100, 40, 3, 0.9), square(60, 100, 40, 3, 0.8)]));
    // Detection at x = 20 overlaps track 1 (IoU 20/60) and not track 2; the one at x = 50 overlaps track 2
    // (IoU 30/50) and track 1 a little (10/70). Scores reversed and the order swapped: ids follow the overlap.
    const out = tracker.update(frame(1, [square(50, 100, 40, 3, 0.95), square(20, 100, 40, 3, 0.5)]));
    const byX = new Map(out.map((i) => [i.box[0], i.id]));
    expect(byX.get(20)).toBe(1);
    expect(byX.get(50)).toBe(2);
  });

  it('reports by descending score', () => {
    const tracker = new MaskTracker({ minHits: 1 });
    const detections = [square(0, 0, 20, 3, 0.5), square(100, 0, 20, 3, 0.7), square(200, 0, 20, 1, 0.6)];
    const out = tracker.update(frame(0, detections));
    expect(out.map((i) => i.score)).toEqual([0.7, 0.6, 0.5]);
  });

  it('accepts the model\'s Detection type as it is', () => {
    const { box, ...rest } = square(10, 10);
    const detection: Detection = { ...rest, box: [box[0], box[1], box[2], box[3]] };
    const tracker = new MaskTracker({ minHits: 1 });
    expect(tracker.update({ ...frame(0), inferred: true, detections: [detection] })).toHaveLength(1);
  });

  it('rejects frames out of order, detections on skipped frames, bad masks and bad settings', () => {
    const tracker = new MaskTracker();
    tracker.update(frame(5, []));
    expect(() => tracker.update(frame(5, []))).toThrow(/in order \(previous index 5\)/);
    expect(() => tracker.update({ ...frame(6), detections: [square(0, 0)] })).toThrow(/not inferred but has 1 detections/);
    const bad = { ...square(0, 0), mask: { x: 0, y: 0, width: 4, height: 4, data: new Uint8Array(3) } };
    expect(() => tracker.update(frame(7, [bad]))).toThrow(/detection 0: mask of 4×4 holds 3/);
    expect(() => tracker.update({ ...frame(8, []), pts: NaN })).toThrow(/pts must be finite/);
    expect(() => new MaskTracker({ iouThreshold: 0 })).toThrow(/iouThreshold must be a number in \(0, 1\]/);
    expect(() => new MaskTracker({ minHits: 0, maxAge: 1.5 })).toThrow(
      /minHits must be an integer >= 1.*maxAge must be an integer >= 0/,
    );
    expect(() => new MaskTracker({ coast: 5, maxAge: 2 })).toThrow(/coast \(5\) cannot exceed maxAge \(2\)/);
    expect(resolveTrackerConfig()).toEqual(TRACKER_DEFAULTS);
    expect(TRACKER_DEFAULTS).toMatchObject({ iouThreshold: 0.3, minHits: 3, maxAge: 30, boxPrefilter: 0 });
  });
});

describe('axisCorrection', () => {
  const free = { templateLo: 100, templateHi: 200, limit: 1000 };
  it('uses the centre for a whole view, the edge that agrees with the prediction for a partial one', () => {
    // Whole view, 4 px right of the prediction.
    expect(axisCorrection(100, 200, 104, 204, free, true)).toBe(4);
    // Right part hidden (edge at 150), left edge 1 px off: the left edge tells.
    expect(axisCorrection(100, 200, 101, 150, free, true)).toBe(1);
    // Symmetric growth: no motion.
    expect(axisCorrection(100, 200, 90, 210, free, true)).toBe(0);
    // No velocity yet: the centre, whatever the extent.
    expect(axisCorrection(100, 200, 101, 150, free, false)).toBe(-24.5);
  });
  it('ignores edges on the image border', () => {
    expect(axisCorrection(900, 1000, 905, 1000, { templateLo: 900, templateHi: 1000, limit: 1000 }, true)).toBe(5);
    expect(axisCorrection(0, 1000, 0, 1000, { templateLo: 0, templateHi: 1000, limit: 1000 }, true)).toBeUndefined();
  });
});

describe('trackInstances operator', () => {
  const frames = (): TrackInput[] => [0, 1, 2].map((f) => frame(f, [square(10 + f, 10)]));

  it('tracks a stream, passing each input through, with a fresh tracker per subscription', async () => {
    const inputs = frames();
    const tracked = from(inputs).pipe(trackInstances({ minHits: 1 }));
    const first = await lastValueFrom(tracked.pipe(toArray()));
    const second = await lastValueFrom(tracked.pipe(toArray()));
    expect(first.map((o) => o.input)).toEqual(inputs);
    expect(first[0].input).toBe(inputs[0]);
    expect(first.map((o) => o.instances.map((i) => i.id))).toEqual([[1], [1], [1]]);
    // Ids start again at 1: the second subscription has its own tracker.
    expect(second.map((o) => o.instances.map((i) => i.id))).toEqual([[1], [1], [1]]);
  });

  it('sends errors down the stream: bad frames and bad settings', async () => {
    const outOfOrder = [frame(1, []), frame(0, [])];
    await expect(lastValueFrom(from(outOfOrder).pipe(trackInstances()))).rejects.toThrow(/in order/);
    const operator = trackInstances({ minHits: -1 });
    await expect(firstValueFrom(from(frames()).pipe(operator))).rejects.toThrow(/minHits/);
  });
});
