import { execFileSync } from 'node:child_process';
import { createReadStream, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { lastValueFrom, map, toArray, type Subscription } from 'rxjs';
import { UserError } from '../../src/errors';
import { dumpHeader, parseRotationLine, parseVideoStreamLine, swapsSides } from '../../src/video/input-dump';
import { isLiveSource, liveFrames, type LiveEvent, type LiveFrame, type LiveSourceOptions } from '../../src/video/live';
import { LiveClock } from '../../src/video/live-clock';
import { Feed, delay, freeTcpPort, freeUdpPort, processesWith, waitUntil } from '../support/live-feed';
import { SAMPLE_CLIP, runTool, tempDir } from '../support/media';

interface Seen {
  index: number;
  pts: number;
  segment: number;
  gapSeconds?: number;
  dropped?: number;
}

/** Subscribes to a live source and records what comes out; frames are released at once unless `hold` keeps them. */
class Receiver {
  readonly frames: Seen[] = [];
  readonly events: LiveEvent[] = [];
  readonly done: Promise<Error | undefined>;
  private readonly subscription: Subscription;

  constructor(source: string, options: LiveSourceOptions = {}, hold?: (frame: LiveFrame) => boolean) {
    let settle: (error: Error | undefined) => void = () => undefined;
    this.done = new Promise((resolve) => (settle = resolve));
    this.subscription = liveFrames(source, { ...options, onEvent: (event) => this.events.push(event) }).subscribe({
      next: (frame) => {
        const { index, pts, segment, gapSeconds, dropped, width, height } = frame;
        expect([width, height, frame.data.byteLength]).toEqual([320, 180, 320 * 180 * 1.5]);
        this.frames.push({ index, pts, segment, ...(gapSeconds !== undefined ? { gapSeconds } : {}), ...(dropped !== undefined ? { dropped } : {}) });
        if (!hold?.(frame)) frame.release();
      },
      error: (error: Error) => settle(error),
      complete: () => settle(undefined),
    });
  }

  eventTypes(): string[] {
    return this.events.map((event) => event.type);
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}

/** Index counts every decoded frame, dropped or not; pts never go back. */
function expectContinuous(frames: readonly Seen[]): void {
  for (let i = 1; i < frames.length; i++) {
    const [previous, frame] = [frames[i - 1] as Seen, frames[i] as Seen];
    expect(frame.index).toBe(previous.index + 1 + (frame.dropped ?? 0));
    expect(frame.pts).toBeGreaterThan(previous.pts);
  }
  expect(frames[0]?.index).toBe(0);
  expect(frames[0]?.pts).toBe(0);
}

/** ffmpeg arguments that serve `clip` in real time to one TCP client, as a camera or a relay would. */
const tcpServer = (clip: string, port: number): string[] => ['-re', '-i', clip, '-c', 'copy', '-f', 'mpegts', `tcp://127.0.0.1:${port}?listen=1`];

/** Short timings: the feeds are local, and the whole file must stay well under a minute on two cores. */
const FAST: LiveSourceOptions = { probeSeconds: 0.5, initialDelaySeconds: 0.2, maxDelaySeconds: 1 };

describe('input dump parsing', () => {
  it('reads size and nominal rate from a stream line, not from codec tags', () => {
    const h264 =
      '    Stream #0:0[0x100]: Video: h264 (Constrained Baseline) ([27][0][0][0] / 0x001B), yuv420p(progressive), 960x540 [SAR 1:1 DAR 16:9], 29.97 fps, 25 tbr, 90k tbn, 50 tbc';
    expect(parseVideoStreamLine(h264)).toEqual({ width: 960, height: 540, fps: 29.97 });
    const camera = '    Stream #0:0: Video: rawvideo (YUY2 / 0x32595559), yuyv422, 640x480, 147456 kb/s, 30 tbr, 1000k tbn, 1000k tbc';
    expect(parseVideoStreamLine(camera)).toEqual({ width: 640, height: 480, fps: 30 });
    expect(parseVideoStreamLine('    Stream #0:1(und): Audio: aac (LC), 44100 Hz, stereo, fltp, 128 kb/s')).toBeUndefined();
    expect(parseVideoStreamLine('    Stream #0:0: Video: mjpeg, yuvj420p(pc), 600x600, 90k tbr, 90k tbn (attached pic)')).toBeUndefined();
    expect(parseVideoStreamLine('    Stream #0:0: Video: h264, yuv420p, 1280x720, 1k fps')?.fps).toBe(1000);
    expect(parseVideoStreamLine('    Stream #0:0: Video: h264, yuv420p, 1280x720')?.fps).toBeUndefined();
  });

  it('reads rotation from the display matrix or the rotate tag', () => {
    expect(parseRotationLine('      displaymatrix: rotation of -90.00 degrees')).toBe(-90);
    expect(parseRotationLine('      rotate          : 270')).toBe(270);
    expect(parseRotationLine('      creation_time   : 2020-01-01')).toBeUndefined();
    expect([swapsSides(-90), swapsSides(270), swapsSides(180), swapsSides(0)]).toEqual([true, true, false, false]);
    expect(dumpHeader("Input #0, mpegts, from 'tcp://127.0.0.1:1234':")).toBe('input');
    expect(dumpHeader("Output #0, rawvideo, to 'unix:/tmp/x.sock':")).toBe('output');
  });

  it('recognises live sources', () => {
    for (const source of ['-', '/dev/video0', 'rtsp://cam/1', 'udp://0.0.0.0:5000', 'tcp://h:1', 'http://h/s.ts', 'srt://h:1']) {
      expect(isLiveSource(source)).toBe(true);
    }
    expect(isLiveSource('clip.mp4')).toBe(false);
  });
});

describe('LiveClock', () => {
  it('follows container timestamps, then the wall clock across segments and discontinuities', () => {
    const clock = new LiveClock();
    clock.startSegment(25);
    expect(clock.stamp(1.4, 1000)).toEqual({ index: 0, pts: 0 });
    expect(clock.stamp(1.44, 1040).pts).toBeCloseTo(0.04, 9);
    expect(clock.emitted(0.04)).toBeUndefined();
    // A feed restarted on the same address: timestamps go back to 1.4, 3 s of wall time later.
    const back = clock.stamp(1.4, 4040);
    expect(back.pts).toBeCloseTo(3.04, 9);
    expect(clock.emitted(back.pts)).toBeCloseTo(3, 9);
    // Timestamps that jump ahead while frames keep arriving on time: no gap, one frame on.
    const jump = clock.stamp(100, 4080);
    expect(jump.pts).toBeCloseTo(3.08, 9);
    expect(clock.emitted(jump.pts)).toBeUndefined();
    // A new segment whose frames arrive in a burst sooner than real time: still one frame after the previous.
    clock.startSegment(25);
    const next = clock.stamp(0, 4081);
    expect(next).toEqual({ index: 4, pts: expect.closeTo(3.12, 9) as number });
    expect(clock.emitted(next.pts)).toBeCloseTo(0.04, 9);
    expect(clock.stamp(undefined, 4082).pts).toBeCloseTo(3.16, 9);
  });
});

describe('liveFrames', () => {
  const dir = tempDir('dashseg-live-');
  /** 320x180, a keyframe every 10 frames (a receiver joining a UDP feed waits for one), no audio. */
  const clip = join(dir.path, 'small.ts');
  const feeds: Feed[] = [];
  const receivers: Receiver[] = [];
  const feed = (args: readonly string[]): Feed => {
    const started = new Feed(args);
    feeds.push(started);
    return started;
  };
  const receive = (...args: ConstructorParameters<typeof Receiver>): Receiver => {
    const receiver = new Receiver(...args);
    receivers.push(receiver);
    return receiver;
  };

  beforeAll(async () => {
    const made = await runTool('ffmpeg', [
      '-v', 'error', '-i', SAMPLE_CLIP, '-an', '-vf', 'scale=320:180', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-f', 'mpegts', clip,
    ]);
    expect(made.stderr).toBe('');
  });
  afterEach(async () => {
    for (const receiver of receivers.splice(0)) receiver.stop();
    await Promise.all(feeds.splice(0).map((running) => running.kill()));
  });
  afterAll(() => dir.remove());

  it('reconnects to a TCP feed that went away and came back, continuing index and pts', async () => {
    const port = await freeTcpPort();
    const source = `tcp://127.0.0.1:${port}`;
    const before = feed(tcpServer(clip, port));
    const receiver = receive(source, FAST);
    await waitUntil(() => receiver.frames.length >= 30, 10_000, '30 frames');
    await before.kill();
    await waitUntil(() => receiver.eventTypes().includes('lost'), 5_000, 'the loss to be noticed');
    await delay(1000);
    feed(tcpServer(clip, port));
    await waitUntil(() => receiver.frames.filter((frame) => frame.segment === 1).length >= 20, 10_000, '20 frames after reconnecting');
    receiver.stop();

    expectContinuous(receiver.frames);
    // Before the first 'opened' there may be refused attempts: the feed's server may not have been listening yet.
    const types = receiver.eventTypes();
    const afterOpening = types.slice(types.indexOf('opened') + 1);
    expect(afterOpening.slice(0, 2)).toEqual(['lost', 'retry']);
    expect(afterOpening[afterOpening.length - 1]).toBe('opened');
    expect(receiver.events).toContainEqual({ type: 'lost', reason: 'end of stream' });
    expect(receiver.events.filter((event) => event.type === 'opened')).toEqual([
      { type: 'opened', segment: 0, width: 320, height: 180, fps: 25 },
      { type: 'opened', segment: 1, width: 320, height: 180, fps: 25 },
    ]);
    const firstAfter = receiver.frames.findIndex((frame) => frame.segment === 1);
    const resumed = receiver.frames[firstAfter] as Seen;
    const last = receiver.frames[firstAfter - 1] as Seen;
    // The feed was down for over a second; pts run ahead of the wall clock by the burst of frames ffmpeg decodes once
    // it has probed the stream (probeSeconds), so the gap shows at least the difference.
    expect(resumed.gapSeconds).toBeGreaterThan(0.5);
    expect(resumed.gapSeconds).toBeCloseTo(resumed.pts - last.pts, 9);
    expect(receiver.frames.filter((frame) => frame.gapSeconds !== undefined)).toHaveLength(1);
  });

  it("bridges a UDP feed restarted behind ffmpeg's back, then notices it going quiet by the stall timeout", async () => {
    const port = await freeUdpPort();
    const source = `udp://127.0.0.1:${port}`;
    const receiver = receive(source, { ...FAST, stallSeconds: 3 });
    const send = (): Feed => feed(['-re', '-i', clip, '-c', 'copy', '-f', 'mpegts', `${source}?pkt_size=1316`]);
    await delay(300); // ffmpeg binds the port once started; what is sent before is lost, like any UDP feed.
    const first = send();
    await waitUntil(() => receiver.frames.length >= 20, 10_000, '20 frames');
    await first.kill();
    await delay(2000);
    // The new sender's timestamps start over; the receiving ffmpeg sees only packets, so this is one run.
    const second = send();
    const resumedAt = receiver.frames.length;
    await waitUntil(() => receiver.frames.length >= resumedAt + 20, 10_000, '20 frames from the second sender');
    await second.kill();
    const killedAt = performance.now();
    await waitUntil(() => receiver.eventTypes().includes('lost'), 6_000, 'the stall to be noticed');
    const seconds = (performance.now() - killedAt) / 1000;

    expect(receiver.eventTypes()).toEqual(['opened', 'lost', 'retry']);
    expect(receiver.events[1]).toEqual({ type: 'lost', reason: 'no frame for 3 s' });
    expect(seconds).toBeGreaterThan(2.5);
    expect(seconds).toBeLessThan(4.5);
    expectContinuous(receiver.frames);
    expect(receiver.frames.every((frame) => frame.segment === 0)).toBe(true);
    const gaps = receiver.frames.filter((frame) => frame.gapSeconds !== undefined);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]?.gapSeconds).toBeGreaterThan(1);
  });

  it('reads an HTTP feed served by ffmpeg itself', async () => {
    const port = await freeTcpPort();
    feed(['-re', '-i', clip, '-c', 'copy', '-f', 'mpegts', '-listen', '1', `http://127.0.0.1:${port}`]);
    const receiver = receive(`http://127.0.0.1:${port}`, FAST);
    await waitUntil(() => receiver.frames.length >= 25, 10_000, '25 frames');
    receiver.stop();
    expectContinuous(receiver.frames);
    expect(receiver.frames[24]?.pts).toBeCloseTo(24 * 0.04, 9);
  });

  it('reads a FIFO with an explicit input format like a capture device, reopens it, then gives up', async () => {
    const fifo = join(dir.path, 'camera');
    execFileSync('mkfifo', [fifo]);
    const writer = (): Feed => feed(['-re', '-i', clip, '-t', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', fifo]);
    writer();
    const receiver = receive(fifo, {
      ...FAST,
      inputFormat: 'rawvideo',
      inputOptions: ['-video_size', '320x180', '-pixel_format', 'yuv420p', '-framerate', '25'],
      openSeconds: 0.5,
      giveUpSeconds: 1.5,
    });
    await waitUntil(() => receiver.eventTypes().includes('lost'), 10_000, 'the writer to close');
    writer();
    const error = await receiver.done;
    expect(error).toBeUndefined();

    expectContinuous(receiver.frames);
    const segments = receiver.frames.map((frame) => frame.segment);
    expect(segments.filter((segment) => segment === 0)).toHaveLength(25);
    expect(segments.filter((segment) => segment === 1)).toHaveLength(25);
    expect(receiver.frames[25]?.gapSeconds).toBeGreaterThan(0);
    expect(receiver.events).toContainEqual({ type: 'lost', reason: 'end of stream' });
    expect(receiver.events).toContainEqual({ type: 'lost', reason: 'no frame within 0.5 s' });
    expect(receiver.eventTypes()[receiver.events.length - 1]).toBe('gave-up');
  });

  it("describes a rotated file from ffmpeg's own dump and reads it once, scaled as asked", async () => {
    const rotated = join(dir.path, 'rotated.mp4');
    await runTool('ffmpeg', ['-v', 'error', '-t', '1', '-i', SAMPLE_CLIP, '-an', '-c', 'copy', '-metadata:s:v', 'rotate=90', rotated]);
    const events: LiveEvent[] = [];
    const sizes = await lastValueFrom(
      liveFrames(rotated, { width: 270, onEvent: (event) => events.push(event) }).pipe(
        map((frame) => {
          frame.release();
          return `${frame.width}x${frame.height}:${frame.data.byteLength}`;
        }),
        toArray(),
      ),
    );
    // Upright, the 960x540 clip is 540 wide and 960 high; only the width was asked for.
    expect(sizes).toEqual(Array.from({ length: 25 }, () => `270x960:${270 * 960 * 1.5}`));
    expect(events).toEqual([{ type: 'opened', segment: 0, width: 270, height: 960, fps: 25 }]);
  });

  it('reads stdin to its end without reconnecting, with the container timestamps', async () => {
    const receiver = receive('-', { stdin: createReadStream(clip), whenFull: 'wait' });
    expect(await receiver.done).toBeUndefined();
    expect(receiver.frames).toHaveLength(221);
    receiver.frames.forEach((frame, i) => {
      expect(frame.index).toBe(i);
      expect(frame.pts).toBeCloseTo(i * 0.04, 9);
    });
    expect(receiver.events).toEqual([{ type: 'opened', segment: 0, width: 320, height: 180, fps: 25 }]);
  });

  it('fails with one line when stdin holds no video', async () => {
    const receiver = receive('-', { stdin: Readable.from([Buffer.from('not a video at all\n')]) });
    const error = await receiver.done;
    expect(error).toBeInstanceOf(UserError);
    expect(error?.message).toBe('stdin: Invalid data found when processing input');
    expect(error?.message).not.toContain('\n');
  });

  it('drops frames instead of stalling the feed while the consumer holds every buffer', async () => {
    const port = await freeTcpPort();
    feed(tcpServer(clip, port));
    const held: LiveFrame[] = [];
    const receiver = receive(`tcp://127.0.0.1:${port}`, { ...FAST, poolSize: 2, stallSeconds: 0.5 }, (frame) => {
      if (frame.index >= 2) return false;
      held.push(frame);
      return true;
    });
    await waitUntil(() => held.length === 2, 10_000, 'two held frames');
    await delay(1500);
    for (const frame of held) frame.release();
    await waitUntil(() => receiver.frames.length >= 10, 5_000, 'frames after the release');
    receiver.stop();

    expectContinuous(receiver.frames);
    const after = receiver.frames[2] as Seen;
    // 1.5 s at 25 fps went by with no buffer free: ffmpeg kept reading, and about that many frames were dropped.
    expect(after.dropped).toBeGreaterThan(20);
    // Nothing was lost once open (refused attempts before the feed's server listens may come first).
    expect(receiver.eventTypes().slice(-1)).toEqual(['opened']);
  });

  it('kills ffmpeg and removes its socket on unsubscribe', async () => {
    const port = await freeTcpPort();
    feed(tcpServer(clip, port));
    const receiver = receive(`tcp://127.0.0.1:${port}`, FAST);
    await waitUntil(() => receiver.frames.length >= 3, 10_000, 'three frames');
    const running = processesWith('-debug_ts', `tcp://127.0.0.1:${port}`);
    expect(running).toHaveLength(1);
    const sockets = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith(`dashseg-${process.pid}-`));
    expect(sockets()).toHaveLength(1);
    receiver.stop();
    await waitUntil(() => processesWith('-debug_ts', `tcp://127.0.0.1:${port}`).length === 0, 3_000, 'ffmpeg to exit');
    expect(sockets()).toEqual([]);
  });

  it('retries with doubling delays, then fails with the reason when nothing ever answers', async () => {
    const port = await freeTcpPort();
    const receiver = receive(`tcp://127.0.0.1:${port}`, { ...FAST, maxDelaySeconds: 0.4, giveUpSeconds: 1.5 });
    const error = await receiver.done;
    expect(error).toBeInstanceOf(UserError);
    expect(error?.message).toMatch(new RegExp(`^tcp://127.0.0.1:${port}: no video after 2 s of trying: Connection refused$`));
    const delays = receiver.events.flatMap((event) => (event.type === 'retry' ? [event.delaySeconds] : []));
    expect(delays.slice(0, 3)).toEqual([0.2, 0.4, 0.4]);
    expect(receiver.events).toContainEqual({ type: 'lost', reason: 'Connection refused' });
  });
});
