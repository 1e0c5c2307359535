import { Subject, lastValueFrom, toArray } from 'rxjs';
import type { ModelImage } from '../../src/infer/protocol';
import { frameSelector, inferFrames, type InferenceService, type InferredFrame, type SchedulableFrame } from '../../src/infer/schedule';
import type { InferenceResult } from '../../src/infer/worker';
import type { Detection } from '../../src/model/mask-rcnn';
import { pooledFrame } from '../../src/video/frame';

/**
 * Workers whose answers the test releases by hand, so that every interleaving of frames and results can be set
 * up exactly. The pixel buffer goes through a real structured-clone transfer (as worker_threads does it), so a
 * frame read while its buffer is away fails as it would in the product.
 */
class HeldWorkers implements InferenceService {
  readonly held: { image: ModelImage; resolve: (r: InferenceResult) => void; reject: (e: Error) => void; worker: number }[] = [];
  readonly load: number[];
  maxLoad = 0;

  constructor(workers: number) {
    this.load = new Array<number>(workers).fill(0);
  }

  canTake(depth: number): boolean {
    return this.load.some((n) => n < depth);
  }

  submit(image: ModelImage): Promise<InferenceResult> {
    const worker = this.load.indexOf(Math.min(...this.load));
    this.load[worker]++;
    this.maxLoad = Math.max(this.maxLoad, this.load[worker]);
    const moved = structuredClone(image, { transfer: [image.data.buffer as ArrayBuffer] });
    return new Promise((resolve, reject) => this.held.push({ image: moved, resolve, reject, worker }));
  }

  /** Answers the request for frame `index` (read from the image's first byte) with one detection scoring `index`. */
  answer(index: number): void {
    const k = this.held.findIndex((h) => h.image.data[0] === index);
    if (k < 0) throw new Error(`frame ${index} is not with a worker`);
    const [h] = this.held.splice(k, 1);
    this.load[h.worker]--;
    const detection: Detection = { box: [0, 0, 2, 2], score: index / 1000, classId: 1, label: 'car', mask: { x: 0, y: 0, width: 2, height: 2, data: new Uint8Array(4).fill(1) } };
    const back = structuredClone(h.image, { transfer: [h.image.data.buffer as ArrayBuffer] });
    h.resolve({ detections: [detection], image: back, milliseconds: 5, tensors: 10 });
  }

  fail(index: number, message: string): void {
    const k = this.held.findIndex((h) => h.image.data[0] === index);
    const [h] = this.held.splice(k, 1);
    this.load[h.worker]--;
    h.reject(new Error(message));
  }

  get running(): number[] {
    return this.held.map((h) => h.image.data[0]).sort((a, b) => a - b);
  }
}

interface TestFrame extends SchedulableFrame {
  released: () => boolean;
}

function makeFrame(index: number, decodedAt = 0, fps = 25): TestFrame {
  const buffer = new Uint8Array(6 * 4 * 1.5);
  buffer[0] = index;
  let released = false;
  const frame = pooledFrame({ index, pts: index / fps, width: 6, height: 4, format: 'yuv420p' as const, decodedAt }, buffer, () => {
    released = true;
  });
  return Object.assign(frame, { released: () => released });
}

const flushPromises = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function run(options: Parameters<typeof inferFrames<TestFrame>>[0]): { input: Subject<TestFrame>; out: InferredFrame<TestFrame>[]; done: () => boolean; error: () => unknown } {
  const input = new Subject<TestFrame>();
  const out: InferredFrame<TestFrame>[] = [];
  let done = false;
  let error: unknown;
  input.pipe(inferFrames<TestFrame>(options)).subscribe({ next: (f) => out.push(f), complete: () => (done = true), error: (e: unknown) => (error = e) });
  return { input, out, done: () => done, error: () => error };
}

describe('frameSelector', () => {
  const indices = (select: (f: { index: number; pts: number }) => boolean, n: number, fps = 25, first = 0): number[] =>
    Array.from({ length: n }, (_, k) => first + k).filter((index) => select({ index, pts: index / fps }));

  test('--every N takes the first frame and every N-th after it, wherever the input starts', () => {
    expect(indices(frameSelector({ every: 3 }), 10)).toEqual([0, 3, 6, 9]);
    expect(indices(frameSelector({ every: 3 }), 7, 25, 25)).toEqual([25, 28, 31]);
    expect(indices(frameSelector(), 4)).toEqual([0, 1, 2, 3]);
  });

  test('--max-fps F infers F frames per second of video on average, spread evenly', () => {
    const chosen = indices(frameSelector({ maxFps: 10 }), 250);
    expect(chosen.length).toBe(100);
    expect(chosen.slice(0, 6)).toEqual([0, 3, 5, 8, 10, 13]);
    // Above the source rate it changes nothing.
    expect(indices(frameSelector({ maxFps: 30 }), 50).length).toBe(50);
  });

  test('both together: every N-th frame, at most F per second', () => {
    expect(indices(frameSelector({ every: 2, maxFps: 5 }), 50)).toEqual([0, 6, 10, 16, 20, 26, 30, 36, 40, 46]);
  });

  test('after a gap the rate schedule restarts instead of bursting', () => {
    const select = frameSelector({ maxFps: 2 });
    const taken = [0, 0.1, 0.5, 0.6, 10, 10.1, 10.5].filter((pts, index) => select({ index, pts }));
    expect(taken).toEqual([0, 0.5, 10, 10.5]);
  });

  test('rejects nonsense', () => {
    expect(() => frameSelector({ every: 0 })).toThrow(RangeError);
    expect(() => frameSelector({ every: 1.5 })).toThrow(RangeError);
    expect(() => frameSelector({ maxFps: 0 })).toThrow(RangeError);
  });
});

describe('inferFrames, file mode', () => {
  test('every frame comes out once, in order, the selected ones inferred with their own detections', async () => {
    const workers = new HeldWorkers(2);
    const { input, out, done } = run({ workers, mode: 'file', select: frameSelector({ every: 2 }) });
    for (let i = 0; i < 8; i++) input.next(makeFrame(i));
    input.complete();
    // Two workers, two each: frames 0, 2, 4, 6 are all with a worker; nothing can come out before frame 0 is back.
    expect(workers.running).toEqual([0, 2, 4, 6]);
    expect(out).toEqual([]);
    workers.answer(4);
    workers.answer(2);
    await flushPromises();
    expect(out).toEqual([]);
    workers.answer(0);
    await flushPromises();
    expect(out.map((f) => [f.frame.index, f.inferred])).toEqual([[0, true], [1, false], [2, true], [3, false], [4, true], [5, false]]);
    workers.answer(6);
    await flushPromises();
    expect(out.map((f) => f.frame.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(done()).toBe(true);
    for (const f of out) expect(f.detections.map((d) => d.score)).toEqual(f.inferred ? [f.frame.index / 1000] : []);
    expect(out.filter((f) => f.inferred).every((f) => f.modelMs === 5)).toBe(true);
  });

  test('double buffering: at most two frames per worker, the rest wait (holding their buffers: backpressure)', async () => {
    const workers = new HeldWorkers(1);
    const { input, out } = run({ workers, mode: 'file' });
    for (let i = 0; i < 5; i++) input.next(makeFrame(i));
    expect(workers.running).toEqual([0, 1]);
    workers.answer(0);
    await flushPromises();
    expect(workers.running).toEqual([1, 2]);
    expect(out.map((f) => f.frame.index)).toEqual([0]);
    for (const i of [1, 2, 3, 4]) {
      workers.answer(i);
      await flushPromises();
    }
    expect(workers.maxLoad).toBe(2);
    expect(out.map((f) => f.frame.index)).toEqual([0, 1, 2, 3, 4]);
  });

  test('depth 1 sends one frame at a time', () => {
    const workers = new HeldWorkers(1);
    const { input } = run({ workers, mode: 'file', depth: 1 });
    for (let i = 0; i < 3; i++) input.next(makeFrame(i));
    expect(workers.running).toEqual([0]);
  });

  test('the pixel buffer moves to the worker and back: unreadable meanwhile, the same bytes afterwards', async () => {
    const workers = new HeldWorkers(1);
    const { input, out } = run({ workers, mode: 'file' });
    const frame = makeFrame(7);
    const before = Uint8Array.from(frame.data);
    input.next(frame);
    expect(() => frame.data).toThrow(/lent to another thread/);
    workers.answer(7);
    await flushPromises();
    expect(out[0].frame).toBe(frame);
    expect(Array.from(frame.data)).toEqual(Array.from(before));
  });

  test('a model error ends the stream with it; queued frames go back to their pool, lent ones when they return', async () => {
    const workers = new HeldWorkers(1);
    const { input, error } = run({ workers, mode: 'file' });
    const frames = [0, 1, 2, 3].map((i) => makeFrame(i));
    frames.forEach((f) => input.next(f));
    workers.fail(0, 'out of memory');
    await flushPromises();
    expect((error() as Error).message).toBe('out of memory');
    expect(frames.map((f) => f.released())).toEqual([false, false, true, true]);
    workers.answer(1);
    await flushPromises();
    expect(frames[1].released()).toBe(true);
  });

  test('unsubscribing releases every frame still held', async () => {
    const workers = new HeldWorkers(1);
    const input = new Subject<TestFrame>();
    const subscription = input.pipe(inferFrames<TestFrame>({ workers, mode: 'file' })).subscribe();
    const frames = [0, 1, 2].map((i) => makeFrame(i));
    frames.forEach((f) => input.next(f));
    subscription.unsubscribe();
    expect(frames.map((f) => f.released())).toEqual([false, false, true]);
    workers.answer(0);
    workers.answer(1);
    await flushPromises();
    expect(frames.every((f) => f.released())).toBe(true);
  });

  test('results arriving out of order from three workers still come out in frame order', async () => {
    const workers = new HeldWorkers(3);
    const frames = Array.from({ length: 30 }, (_, i) => makeFrame(i));
    const input = new Subject<TestFrame>();
    const result = lastValueFrom(input.pipe(inferFrames<TestFrame>({ workers, mode: 'file' }), toArray()));
    for (const f of frames) {
      input.next(f);
      // Answer in a scrambled order whenever all six slots are full.
      while (workers.held.length === 6) {
        const pick = workers.running[(f.index * 7) % workers.running.length];
        workers.answer(pick);
        await flushPromises();
      }
    }
    input.complete();
    while (workers.held.length > 0) {
      workers.answer(workers.running[workers.running.length - 1]);
      await flushPromises();
    }
    const out = await result;
    expect(out.map((f) => f.frame.index)).toEqual(frames.map((f) => f.index));
    expect(out.every((f) => f.inferred)).toBe(true);
  });
});

describe('inferFrames, live mode', () => {
  test('a free worker takes the newest frame; the ones that waited behind it are skipped, never lost', async () => {
    const workers = new HeldWorkers(1);
    const { input, out } = run({ workers, mode: 'live' });
    input.next(makeFrame(0));
    for (let i = 1; i < 5; i++) input.next(makeFrame(i));
    expect(workers.running).toEqual([0]);
    workers.answer(0);
    await flushPromises();
    // Frames 1-3 lost their turn to 4.
    expect(workers.running).toEqual([4]);
    expect(out.map((f) => [f.frame.index, f.inferred])).toEqual([[0, true], [1, false], [2, false], [3, false]]);
    workers.answer(4);
    await flushPromises();
    expect(out.map((f) => f.frame.index)).toEqual([0, 1, 2, 3, 4]);
  });

  test('one frame per worker at a time, whatever depth is asked', () => {
    const workers = new HeldWorkers(2);
    const { input } = run({ workers, mode: 'live', depth: 2 });
    for (let i = 0; i < 6; i++) input.next(makeFrame(i));
    expect(workers.running).toEqual([0, 1]);
  });

  test('a frame older than maxLatencyMs is not started', async () => {
    let now = 1000;
    const workers = new HeldWorkers(1);
    const { input, out } = run({ workers, mode: 'live', maxLatencyMs: 200, now: () => now });
    input.next(makeFrame(0, 1000));
    input.next(makeFrame(1, 1010));
    now = 1500;
    workers.answer(0);
    await flushPromises();
    expect(workers.running).toEqual([]);
    expect(out.map((f) => [f.frame.index, f.inferred])).toEqual([[0, true], [1, false]]);
    input.next(makeFrame(2, 1490));
    expect(workers.running).toEqual([2]);
  });

  test('the selection still applies: only eligible frames compete', async () => {
    const workers = new HeldWorkers(1);
    const { input, out } = run({ workers, mode: 'live', select: frameSelector({ every: 4 }) });
    for (let i = 0; i < 7; i++) input.next(makeFrame(i));
    workers.answer(0);
    await flushPromises();
    expect(workers.running).toEqual([4]);
    workers.answer(4);
    await flushPromises();
    expect(out.filter((f) => f.inferred).map((f) => f.frame.index)).toEqual([0, 4]);
  });
});
