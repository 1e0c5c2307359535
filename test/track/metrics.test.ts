import type { BinaryMask } from '../../src/track/mask-iou';
import { type EvaluationFrame, type IdentifiedMask, TrackingEvaluator, evaluateTracking } from '../../src/track/metrics';

function rect(x: number, y: number, width: number, height: number): BinaryMask {
  return { x, y, width, height, data: new Uint8Array(width * height).fill(1) };
}

/** Two places in the image far apart: every hypothesis below sits exactly on one of them (IoU 1) or nowhere. */
const PLACE = { a: rect(0, 0, 10, 10), b: rect(20, 0, 10, 10) };
const at = (id: number, place: keyof typeof PLACE): IdentifiedMask => ({ id, mask: PLACE[place] });

describe('tracking metrics (hand-computed)', () => {
  it('perfect tracking: MOTA 1, IDF1 1, no switches', () => {
    const frames: EvaluationFrame[] = Array.from({ length: 5 }, () => ({
      truth: [at(1, 'a'), at(2, 'b')],
      hypotheses: [at(10, 'a'), at(20, 'b')],
    }));
    const m = evaluateTracking(frames);
    expect(m).toMatchObject({ truths: 10, hypotheses: 10, matches: 10, misses: 0, falsePositives: 0, idSwitches: 0 });
    expect(m).toMatchObject({ fragmentations: 0, mota: 1, meanIoU: 1, idtp: 10, idf1: 1, idp: 1, idr: 1 });
  });

  it('one object handed from one hypothesis to another: 1 switch, MOTA 3/4, IDF1 1/2', () => {
    const ids = [1, 1, 2, 2];
    const m = evaluateTracking(ids.map((h) => ({ truth: [at(7, 'a')], hypotheses: [at(h, 'a')] })));
    expect(m.idSwitches).toBe(1);
    expect(m.mota).toBeCloseTo(0.75, 12);
    // Best trajectory pairing: 7 ↔ 1 (or 2) for 2 of 4 frames; 2·2 / (4 + 4).
    expect(m.idtp).toBe(2);
    expect(m.idf1).toBeCloseTo(0.5, 12);
    expect(m.fragmentations).toBe(0);
  });

  it('an interrupted track: 3 misses, 1 fragmentation (a trailing miss is not one), MOTA 1/2, IDF1 2/3', () => {
    const tracked = [true, true, false, false, true, false];
    const m = evaluateTracking(tracked.map((t) => ({ truth: [at(1, 'a')], hypotheses: t ? [at(5, 'a')] : [] })));
    expect(m).toMatchObject({ misses: 3, falsePositives: 0, idSwitches: 0, fragmentations: 1 });
    expect(m.mota).toBeCloseTo(0.5, 12);
    expect(m.idf1).toBeCloseTo(6 / 9, 12);
  });

  it('keeps a still-valid correspondence even when another hypothesis fits better (no switch, one FP)', () => {
    const partial = rect(0, 0, 10, 8); // IoU 0.8 with place a
    const evaluator = new TrackingEvaluator();
    evaluator.addFrame([at(1, 'a')], [{ id: 5, mask: partial }]);
    const events = evaluator.addFrame([at(1, 'a')], [{ id: 5, mask: partial }, at(6, 'a')]);
    expect(events).toEqual({ matches: [[1, 5]], switches: [], misses: [], falsePositives: [6], ignored: [] });
    const m = evaluator.summary();
    expect(m).toMatchObject({ idSwitches: 0, falsePositives: 1, matches: 2 });
    expect(m.mota).toBeCloseTo(0.5, 12);
    expect(m.meanIoU).toBeCloseTo(0.8, 12);
  });

  it('counts a switch across frames where the object is absent, but no fragmentation', () => {
    const frames: EvaluationFrame[] = [
      { truth: [at(1, 'a')], hypotheses: [at(5, 'a')] },
      { truth: [], hypotheses: [] },
      { truth: [at(1, 'a')], hypotheses: [at(6, 'a')] },
    ];
    expect(evaluateTracking(frames)).toMatchObject({ idSwitches: 1, fragmentations: 0, misses: 0 });
  });

  it('two objects swapping hypotheses: 2 switches', () => {
    const frames: EvaluationFrame[] = [0, 1, 2, 3].map((t) => ({
      truth: [at(1, 'a'), at(2, 'b')],
      hypotheses: t < 2 ? [at(10, 'a'), at(20, 'b')] : [at(20, 'a'), at(10, 'b')],
    }));
    const m = evaluateTracking(frames);
    expect(m.idSwitches).toBe(2);
    expect(m.mota).toBeCloseTo(1 - 2 / 8, 12);
    expect(m.idf1).toBeCloseTo(0.5, 12);
  });

  it('IDF1 pairs trajectories globally (6 agreeing frames), not frame by frame', () => {
    // Frames 0-2: a↔10, b↔20. Frames 3-4: a↔20, b↔30. Pairs: 1-10: 3, 1-20: 2, 2-20: 3, 2-30: 2; the best
    // one-to-one pairing is 1-10 + 2-20 = 6 frames (1-20 + 2-30 would give 4, 1-10 + 2-30 gives 5).
    const frames: EvaluationFrame[] = [0, 1, 2, 3, 4].map((t) => ({
      truth: [at(1, 'a'), at(2, 'b')],
      hypotheses: t < 3 ? [at(10, 'a'), at(20, 'b')] : [at(20, 'a'), at(30, 'b')],
    }));
    const m = evaluateTracking(frames);
    expect(m.idtp).toBe(6);
    expect(m.idf1).toBeCloseTo(12 / 20, 12);
    expect(m.idSwitches).toBe(2);
    expect(m.mota).toBeCloseTo(0.8, 12);
  });

  it('matches at IoU 0.5 and not below', () => {
    const half = rect(0, 0, 20, 10); // contains place a: IoU exactly 100 / 200
    const shifted = rect(4, 0, 10, 10); // 60 / 140
    expect(evaluateTracking([{ truth: [at(1, 'a')], hypotheses: [{ id: 2, mask: half }] }]).matches).toBe(1);
    const miss = evaluateTracking([{ truth: [at(1, 'a')], hypotheses: [{ id: 2, mask: shifted }] }]);
    expect(miss).toMatchObject({ matches: 0, misses: 1, falsePositives: 1, mota: -1 });
  });

  it('is undefined (NaN) without ground truth, and rejects a duplicated id', () => {
    const m = evaluateTracking([{ truth: [], hypotheses: [at(1, 'a')] }]);
    expect(m.mota).toBeNaN();
    expect(m.idf1).toBe(0);
    expect(() => evaluateTracking([{ truth: [at(1, 'a'), at(1, 'b')], hypotheses: [] }])).toThrow(/id 1 appears twice/);
  });

  describe('ignore regions (objects too small to score)', () => {
    const tiny = rect(40, 0, 4, 4); // 16 pixels, far from places a and b

    it('drop a hypothesis on them from every count: not a false positive, not part of IDF1', () => {
      // Object 1 tracked perfectly for 3 frames; hypothesis 9 follows the tiny object, which is an ignore region.
      const frames: EvaluationFrame[] = [0, 1, 2].map(() => ({ truth: [at(1, 'a')], hypotheses: [at(5, 'a'), { id: 9, mask: tiny }], ignored: [tiny] }));
      const m = evaluateTracking(frames);
      expect(m).toMatchObject({ truths: 3, hypotheses: 3, matches: 3, falsePositives: 0, mota: 1, idf1: 1 });
      // Without the region, the same hypotheses cost 3 false positives: MOTA 0, IDF1 2·3 / (3 + 6).
      const scored = evaluateTracking(frames.map(({ truth, hypotheses }) => ({ truth, hypotheses })));
      expect(scored).toMatchObject({ hypotheses: 6, falsePositives: 3, mota: 0 });
      expect(scored.idf1).toBeCloseTo(6 / 9, 12);
    });

    it('never take a hypothesis that matched an object, and need half of its pixels (COCO crowd rule)', () => {
      const evaluator = new TrackingEvaluator();
      // Hypothesis 5 is object 1 and overlaps the region entirely: still a match.
      expect(evaluator.addFrame([at(1, 'a')], [at(5, 'a')], [PLACE.a])).toMatchObject({ matches: [[1, 5]], ignored: [] });
      // Half of hypothesis 6's 32 pixels lie on the region: dropped. Hypothesis 7 has 8 of its 32 there: a false positive.
      const half = rect(40, 0, 4, 8);
      const quarter = rect(40, 2, 16, 2);
      const region = rect(40, 0, 4, 4);
      expect(evaluator.addFrame([], [{ id: 6, mask: half }, { id: 7, mask: quarter }], [region])).toMatchObject({ ignored: [6], falsePositives: [7] });
      expect(evaluator.summary()).toMatchObject({ truths: 1, hypotheses: 2, matches: 1, falsePositives: 1 });
    });
  });
});

