import { Throughput } from '../../src/stats/throughput';
import { formatDuration, ProgressReporter, type ProgressSink } from '../../src/terminal/progress';

/** A hand-driven clock in milliseconds. */
class Clock {
  t = 0;
  readonly now = (): number => this.t;
}

class Sink implements ProgressSink {
  readonly writes: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
  ) {}
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
  get text(): string {
    return this.writes.join('');
  }
}

/** Advance the clock by `stepMs` and count a frame, `count` times, calling update() after each. */
function run(clock: Clock, throughput: Throughput, reporter: ProgressReporter | undefined, count: number, stepMs: number): void {
  for (let i = 0; i < count; i++) {
    clock.t += stepMs;
    throughput.tick();
    reporter?.update();
  }
}

describe('formatDuration', () => {
  test.each<[number, string]>([
    [0, '0:00'],
    [5, '0:05'],
    [59.4, '0:59'],
    [59.5, '1:00'],
    [61, '1:01'],
    [600, '10:00'],
    [3599, '59:59'],
    [3600, '1:00:00'],
    [3661, '1:01:01'],
    [36_000 + 62, '10:01:02'],
    [-1, '--:--'],
    [Number.NaN, '--:--'],
    [Number.POSITIVE_INFINITY, '--:--'],
  ])('%p s → %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });
});

describe('Throughput', () => {
  test('no rate until two frames have been seen', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    expect(throughput.fps).toBe(0);
    run(clock, throughput, undefined, 1, 40);
    expect(throughput.fps).toBe(0);
    run(clock, throughput, undefined, 1, 40);
    expect(throughput.fps).toBe(25);
  });

  test('two frames at the same instant give no rate rather than Infinity', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    throughput.tick();
    throughput.tick();
    expect(throughput.fps).toBe(0);
  });

  test('the rate follows the window, the average covers the whole run', () => {
    const clock = new Clock();
    const throughput = new Throughput(5, clock.now);
    run(clock, throughput, undefined, 20, 10); // 100 fps for 0.2 s
    expect(throughput.fps).toBeCloseTo(100, 9);
    run(clock, throughput, undefined, 10, 100); // then 10 fps for 1 s
    expect(throughput.fps).toBeCloseTo(10, 9); // only the last 5 frames count
    expect(throughput.frames).toBe(30);
    expect(throughput.elapsed).toBeCloseTo(1.2, 9);
    expect(throughput.averageFps).toBeCloseTo(30 / 1.2, 9);
  });

  test('elapsed counts from construction, not from the first frame', () => {
    const clock = new Clock();
    clock.t = 1000;
    const throughput = new Throughput(30, clock.now);
    clock.t = 3500;
    expect(throughput.elapsed).toBe(2.5);
    expect(throughput.averageFps).toBe(0);
  });
});

describe('ProgressReporter off a terminal', () => {
  test('prints one plain line per interval, not one per frame', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    const sink = new Sink(false);
    const reporter = new ProgressReporter(sink, throughput, 1000, 5, clock.now);
    run(clock, throughput, reporter, 300, 40); // 12 s of frames at 25 fps
    // A line at frame 1 would say nothing: the first comes one interval in, at 5 s, then at 10 s.
    expect(sink.writes).toHaveLength(2);
    for (const line of sink.writes) {
      expect(line.endsWith('\n')).toBe(true);
      for (const control of ['\r', '\n', '\x1b']) expect(line.slice(0, -1)).not.toContain(control);
    }
    expect(sink.writes[0]).toMatch(/^125\/1000 frames/); // 5 s / 0.04 s
    expect(sink.writes[1]).toMatch(/^250\/1000 frames/);
  });

  test('honours the configured interval', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    const sink = new Sink(false);
    const reporter = new ProgressReporter(sink, throughput, undefined, 1, clock.now);
    run(clock, throughput, reporter, 110, 40); // 4.4 s
    expect(sink.writes).toHaveLength(4); // at 1, 2, 3 and 4 s
  });

  test('finish() adds nothing (the command prints its own summary) and later updates are ignored', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    const sink = new Sink(false);
    const reporter = new ProgressReporter(sink, throughput, 100, 5, clock.now);
    run(clock, throughput, reporter, 10, 40);
    const before = sink.writes.length;
    reporter.finish();
    reporter.finish();
    clock.t += 60_000;
    reporter.update();
    expect(sink.writes).toHaveLength(before);
  });

  test('percent, rate, elapsed and ETA for known numbers', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    const sink = new Sink(false);
    const reporter = new ProgressReporter(sink, throughput, 10_000, 1, clock.now);
    run(clock, throughput, undefined, 100, 40); // 100 frames in 4 s at 25 fps
    reporter.update();
    const line = sink.writes[0] ?? '';
    expect(line).toContain('100/10000 frames');
    expect(line).toMatch(/\b1%/);
    expect(line).toContain('25.0 fps');
    expect(line).toContain(' 0:04 ');
    // (10000 - 100) / 25 = 396 s
    expect(line).toMatch(/ETA 6:36\n$/);
  });

  test('percent is rounded and ETA uses the recent rate', () => {
    const clock = new Clock();
    const throughput = new Throughput(10, clock.now);
    const sink = new Sink(false);
    const reporter = new ProgressReporter(sink, throughput, 300, 1, clock.now);
    run(clock, throughput, undefined, 50, 10); // fast start
    run(clock, throughput, undefined, 50, 200); // 5 fps now
    reporter.update();
    const line = sink.writes[0] ?? '';
    expect(line).toMatch(/ 33%/); // 100 / 300
    expect(line).toContain('5.0 fps');
    expect(line).toContain('ETA 0:40'); // 200 frames left at 5 fps
  });

  test('before any rate is known the ETA is unknown', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    const sink = new Sink(false);
    const reporter = new ProgressReporter(sink, throughput, 100, 1, clock.now);
    run(clock, throughput, undefined, 1, 2000); // one frame after a 2 s start-up
    reporter.update();
    expect(sink.writes[0]).toMatch(/^1\/100 frames +1% +0\.0 fps +0:02 ETA --:--\n$/);
  });

  test('with an unknown total there is no percent and no ETA', () => {
    for (const total of [undefined, 0]) {
      const clock = new Clock();
      const throughput = new Throughput(30, clock.now);
      const sink = new Sink(false);
      const reporter = new ProgressReporter(sink, throughput, total, 1, clock.now);
      run(clock, throughput, undefined, 50, 20);
      reporter.update();
      const line = sink.writes[0] ?? '';
      expect(line).toMatch(/^50 frames +50\.0 fps +0:01\n$/);
    }
  });
});

describe('ProgressReporter on a terminal', () => {
  test('redraws in place with \\r, at most every 100 ms', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    const sink = new Sink(true);
    const reporter = new ProgressReporter(sink, throughput, 100, 5, clock.now);
    run(clock, throughput, reporter, 25, 10); // 0.25 s: draws at 10, 110, 210 ms
    expect(sink.writes).toHaveLength(3);
    for (const draw of sink.writes) {
      expect(draw.startsWith('\r')).toBe(true);
      expect(draw).not.toContain('\n');
      expect(draw.endsWith('\x1b[K')).toBe(true); // clears what a longer previous line left behind
    }
  });

  test('the bar is filled in proportion and fits the terminal', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    const sink = new Sink(true, 100);
    const reporter = new ProgressReporter(sink, throughput, 200, 5, clock.now);
    run(clock, throughput, undefined, 50, 40);
    reporter.update();
    const draw = sink.writes[0] ?? '';
    const ESC = String.fromCharCode(0x1b);
    const match = new RegExp(`^\\r\\[(#*)(\\.*)\\] (.*)${ESC}\\[K$`).exec(draw);
    expect(match).not.toBeNull();
    const [, filled = '', empty = '', text = ''] = match ?? [];
    const width = filled.length + empty.length;
    expect(width).toBeGreaterThanOrEqual(10);
    expect(width).toBeLessThanOrEqual(40);
    expect(filled.length).toBe(Math.round(width / 4)); // 50 of 200
    expect(text).toContain('50/200 frames');
    expect(text).toContain('25%');
    expect(draw.length - '\r\x1b[K'.length).toBeLessThan(100);
  });

  test('finish() draws the final state and ends the line exactly once', () => {
    const clock = new Clock();
    const throughput = new Throughput(30, clock.now);
    const sink = new Sink(true);
    const reporter = new ProgressReporter(sink, throughput, 100, 5, clock.now);
    run(clock, throughput, reporter, 100, 1); // all within 100 ms: only the first frame was drawn
    expect(sink.writes).toHaveLength(1);
    reporter.finish();
    reporter.finish();
    clock.t += 1000;
    reporter.update();
    expect(sink.writes).toHaveLength(3);
    expect(sink.writes[1]).toMatch(/^\r\[#+\] 100\/100 frames 100%/);
    expect(sink.writes[2]).toBe('\n');
    expect(sink.text.split('\n')).toHaveLength(2);
    expect(sink.text.endsWith('\n')).toBe(true);
  });
});
