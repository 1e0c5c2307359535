import { Subject, from, lastValueFrom, toArray } from 'rxjs';
import { TentativeBackfill, backfillTentative, type DecidedFrame } from '../../src/track/backfill';
import { trackInstances } from '../../src/track/operator';
import { MaskTracker, type TrackDetection, type TrackInput } from '../../src/track/tracker';

const W = 320;
const H = 240;

/** A filled 40 px square car detection at (x, y). */
function square(x: number, y: number): TrackDetection {
  return {
    box: [x, y, x + 40, y + 40],
    score: 0.9,
    classId: 3,
    label: 'car',
    mask: { x, y, width: 40, height: 40, data: new Uint8Array(1600).fill(1) },
  };
}

/** Frame `index` at 30 fps; skipped (not inferred) when `detections` is undefined. */
function frame(index: number, detections?: TrackDetection[]): TrackInput {
  return { index, pts: index / 30, width: W, height: H, inferred: detections !== undefined, ...(detections ? { detections } : {}) };
}

/**
 * The tracker (3 hits to confirm) and the backfill over `frames`: what each frame reports, by frame index, once
 * decided, and after each input how many frames were held.
 */
function run(frames: TrackInput[], maxHeld = Infinity): { reported: Map<number, number[]>; held: number[] } {
  const tracker = new MaskTracker({ minHits: 3, reportTentative: true });
  const backfill = new TentativeBackfill<TrackInput>(maxHeld);
  const reported = new Map<number, number[]>();
  const held: number[] = [];
  const take = (decided: DecidedFrame<TrackInput>[]): void => {
    for (const { item, instances } of decided) reported.set(item.index, instances.map((i) => i.id));
  };
  for (const f of frames) {
    take(backfill.push(f, tracker.update(f)));
    held.push(backfill.size);
  }
  take(backfill.flush());
  return { reported, held };
}

describe('TentativeBackfill', () => {
  it('reports a confirmed track from its first detection, holding frames only until it is confirmed', () => {
    const frames = [0, 1, 2, 3, 4].map((f) => frame(f, [square(10 + 2 * f, 10)]));
    const { reported, held } = run(frames);
    expect([...reported.values()]).toEqual([[1], [1], [1], [1], [1]]);
    // Frames 0 and 1 wait for the third hit; from then on nothing is held.
    expect(held).toEqual([1, 2, 0, 0, 0]);
  });

  it('leaves out a track dropped before confirmation, and spends no id on it', () => {
    // A spurious detection on frames 0-1 (missed on 2), a real car from frame 1 on.
    const frames = [
      frame(0, [square(200, 150)]),
      frame(1, [square(200, 150), square(10, 10)]),
      frame(2, [square(12, 10)]),
      frame(3, [square(14, 10)]),
      frame(4, [square(16, 10)]),
    ];
    const { reported } = run(frames);
    expect([...reported.entries()]).toEqual([
      [0, []],
      [1, [1]],
      [2, [1]],
      [3, [1]],
      [4, [1]],
    ]);
  });

  it('fills the skipped frames before confirmation too (--every 3)', () => {
    const frames = Array.from({ length: 10 }, (_, f) => frame(f, f % 3 === 0 ? [square(10 + 2 * f, 10)] : undefined));
    const { reported, held } = run(frames);
    // Confirmed on frame 6, its third inferred frame: frames 0-5 are held until then and reported with it.
    expect(held.slice(0, 7)).toEqual([1, 2, 3, 4, 5, 6, 0]);
    expect([...reported.values()]).toEqual(Array.from({ length: 10 }, () => [1]));
  });

  it('never holds more than maxHeld frames: the oldest leaves undecided, without its tentative instances', () => {
    const frames = [0, 1, 2, 3].map((f) => frame(f, [square(10 + 2 * f, 10)]));
    const { reported, held } = run(frames, 1);
    expect(held).toEqual([1, 1, 0, 0]);
    expect([...reported.values()]).toEqual([[], [1], [1], [1]]);
    const none = run(frames, 0);
    expect([...none.reported.values()]).toEqual([[], [], [1], [1]]);
  });

  it('numbers objects in the order they first appear in the output', () => {
    // Track A starts on frame 0, B on frame 1; B is confirmed (frame 3) after A (frame 2): still A = 1, B = 2.
    const a = (f: number): TrackDetection => square(10 + f, 10);
    const b = (f: number): TrackDetection => square(200 - f, 150);
    const frames = [frame(0, [a(0)]), frame(1, [a(1), b(1)]), frame(2, [a(2), b(2)]), frame(3, [a(3), b(3)])];
    const { reported } = run(frames);
    expect([...reported.values()].map((ids) => [...ids].sort())).toEqual([[1], [1, 2], [1, 2], [1, 2]]);
  });

  it('drops tracks still tentative when the stream ends', () => {
    const { reported } = run([frame(0, [square(10, 10)]), frame(1, [square(12, 10)])]);
    expect([...reported.values()]).toEqual([[], []]);
  });

  it('rejects a bad maxHeld', () => {
    expect(() => new TentativeBackfill(-1)).toThrow(/maxHeld/);
    expect(() => new TentativeBackfill(1.5)).toThrow(/maxHeld/);
  });
});

describe('backfillTentative operator', () => {
  it('emits every frame once, in order, and the held ones when the stream completes', async () => {
    const inputs = [0, 1, 2, 3].map((f) => frame(f, [square(10 + 2 * f, 10)]));
    const out = await lastValueFrom(from(inputs).pipe(trackInstances({ reportTentative: true }), backfillTentative(Infinity), toArray()));
    expect(out.map((o) => o.input)).toEqual(inputs);
    expect(out.map((o) => o.instances.map((i) => i.id))).toEqual([[1], [1], [1], [1]]);
    const cut = await lastValueFrom(from(inputs.slice(0, 2)).pipe(trackInstances({ reportTentative: true }), backfillTentative(Infinity), toArray()));
    expect(cut.map((o) => [o.input.index, o.instances.length])).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });

  it('hands held frames to discard when unsubscribed or on error, never twice', () => {
    const discarded: number[] = [];
    const source = new Subject<TrackInput>();
    const seen: number[] = [];
    const subscription = source
      .pipe(trackInstances({ reportTentative: true }), backfillTentative<TrackInput>(Infinity, (input) => discarded.push(input.index)))
      .subscribe({ next: (o) => seen.push(o.input.index), error: () => undefined });
    source.next(frame(0, [square(10, 10)]));
    source.next(frame(1, [square(12, 10)]));
    subscription.unsubscribe();
    expect(seen).toEqual([]);
    expect(discarded).toEqual([0, 1]);

    const failing = new Subject<TrackInput>();
    const dropped: number[] = [];
    let failed: unknown;
    failing
      .pipe(trackInstances({ reportTentative: true }), backfillTentative<TrackInput>(Infinity, (input) => dropped.push(input.index)))
      .subscribe({ error: (error: unknown) => (failed = error) });
    failing.next(frame(5, [square(10, 10)]));
    failing.next(frame(4, [])); // out of order: the tracker errors
    expect(String(failed)).toMatch(/in order/);
    expect(dropped).toEqual([5]);
  });
});
