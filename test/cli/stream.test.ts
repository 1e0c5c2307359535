/**
 * `dashseg stream` against real local live sources: an ffmpeg feed serving the dashcam clip in real time over TCP
 * (killed and restarted mid-way), a FIFO standing in for a camera, stdin; and a clean stop on SIGINT.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateFrameRecord, type FrameRecord } from '../../src/output/frame-record';
import { CLI, oneErrorLine, runCli, startCli } from '../support/cli';
import { Feed, delay, freeTcpPort, waitUntil } from '../support/live-feed';
import { SAMPLE_CLIP, probeStreams, runFfmpeg, tempDir } from '../support/media';
import { convertTinyModel } from '../support/tiny-model';

function jsonLines(file: string): FrameRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as FrameRecord);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The clip served in real time, as a camera or a server would send it. */
function tcpFeed(port: number): Feed {
  return new Feed(['-re', '-i', SAMPLE_CLIP, '-map', '0:v', '-c', 'copy', '-f', 'mpegts', `tcp://127.0.0.1:${port}?listen=1`]);
}

describe('dashseg stream', () => {
  const dir = tempDir();
  const model = join(dir.path, 'tiny');
  const feeds: Feed[] = [];
  beforeAll(() => convertTinyModel(model));
  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((feed) => feed.kill()));
  });
  afterAll(() => dir.remove());

  it('keeps pace with a real-time TCP feed, keeps ids, and reconnects by itself when the feed is killed and restarted', async () => {
    const port = await freeTcpPort();
    const json = join(dir.path, 'tcp.jsonl');
    feeds.push(tcpFeed(port));
    await delay(300);
    const { child, done } = startCli([
      'stream', `tcp://127.0.0.1:${port}`, '--json', json, '--model', model, '--score', '0.5', '--workers', '1',
      '--stall-timeout', '2', '--give-up', '5',
    ]);
    try {
      // Mid-way through the clip, the server dies; a second later it is back and serves the clip again.
      await waitUntil(() => jsonLines(json).length >= 75, 30_000, 'the first 75 frames');
      await feeds[0].kill();
      await delay(1000);
      feeds.push(tcpFeed(port));
      await feeds[1].exited;
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    const result = await done;
    expect(result.stderr).toMatch(/opened, 960x540 at 25\.00 fps/);
    expect(result.stderr).toMatch(/lost \(/);
    expect(result.stderr).toMatch(/reconnecting in 0\.5 s \(attempt 1\)/);
    expect(result.stderr).toMatch(/reconnected, 960x540/);
    expect(result.stderr).toMatch(/no frame for 5 s, giving up/);
    expect(result.code).toBe(0);

    const records = jsonLines(json);
    for (const record of records) expect(validateFrameRecord(record)).toEqual([]);
    // All of the second feed and part of the first: the run went on after the reconnection.
    expect(records.length).toBeGreaterThan(221 + 50);
    for (let i = 1; i < records.length; i++) {
      expect(records[i].frame).toBeGreaterThan(records[i - 1].frame);
      expect(records[i].pts).toBeGreaterThan(records[i - 1].pts);
    }
    const gaps = records.filter((r) => r.gapSeconds !== undefined);
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    expect(gaps[0].gapSeconds).toBeGreaterThan(0.5);

    // The model is slower than the source: it ran on some frames, the tracker carried the others...
    const inferred = records.filter((r) => r.inferred).length;
    expect(inferred).toBeGreaterThan(10);
    expect(inferred).toBeLessThan(records.length * 0.9);
    // ...and the lag stayed bounded: no growth from the first frames to the last (a pipeline falling behind would
    // lag by the whole clip by the end).
    const latency = records.map((r) => r.latencyMs as number);
    expect(latency.every((ms) => Number.isFinite(ms) && ms >= 0)).toBe(true);
    expect(median(latency.slice(-60))).toBeLessThan(median(latency.slice(0, 60)) + 2000);
    expect(Math.max(...latency)).toBeLessThan(8000);

    // Objects keep their ids across frames, carried frames included.
    const lines = new Map<number, number>();
    for (const record of records) for (const instance of record.instances) lines.set(instance.id as number, (lines.get(instance.id as number) ?? 0) + 1);
    expect(Math.max(...lines.values())).toBeGreaterThanOrEqual(10);
  }, 90_000);

  it('reads a FIFO as a camera stands in for one: --format and --input-options reach ffmpeg', async () => {
    const fifo = join(dir.path, 'camera');
    execFileSync('mkfifo', [fifo]);
    const json = join(dir.path, 'fifo.jsonl');
    // Raw frames, as a V4L2 device delivers them: nothing in the stream says their size or rate.
    feeds.push(new Feed(['-re', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=25:d=2', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', fifo]));
    const result = await runCli([
      'stream', fifo, '--format', 'rawvideo', '--input-options', '-video_size 320x180 -pixel_format yuv420p -framerate 25',
      '--no-reconnect', '--json', json, '--model', 'none',
    ], 30_000);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/opened, 320x180 at 25\.00 fps/);
    const records = jsonLines(json);
    expect(records.map((r) => r.frame)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(records.every((r) => r.width === 320 && r.height === 180 && r.inferred === false)).toBe(true);
  }, 40_000);

  it("reads stdin ('-'), a stream piped in from another program", async () => {
    const ts = join(dir.path, 'clip.ts');
    runFfmpeg(['-i', SAMPLE_CLIP, '-t', '2', '-map', '0:v', '-c', 'copy', '-f', 'mpegts', ts]);
    const json = join(dir.path, 'stdin.jsonl');
    const child = spawn(process.execPath, [CLI, 'stream', '-', '--json', json, '--model', model, '--every', '5', '--quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.end(readFileSync(ts));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const records = jsonLines(json);
    expect(records.map((r) => r.frame)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(records.filter((r) => r.inferred).every((r) => r.frame % 5 === 0)).toBe(true);
  }, 40_000);

  it('stops cleanly on SIGINT: exit 130, a playable video with as many frames as JSON lines', async () => {
    const port = await freeTcpPort();
    feeds.push(tcpFeed(port));
    await delay(300);
    const json = join(dir.path, 'int.jsonl');
    const video = join(dir.path, 'int.mp4');
    const { child, done } = startCli(['stream', `tcp://127.0.0.1:${port}`, '--json', json, '-o', video, '--model', 'none']);
    await waitUntil(() => jsonLines(json).length >= 40, 20_000, '40 frames');
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/SIGINT: stopping, finishing outputs/);
    expect(result.stderr).toMatch(/stopped after \d+ frames/);
    const records = jsonLines(json);
    expect(readFileSync(json, 'utf8').endsWith('\n')).toBe(true);
    const frames = probeStreams(video).streams.find((s) => s.codec_type === 'video')?.nb_read_frames;
    expect(Number(frames)).toBe(records.length);
  }, 40_000);

  it('user errors are one line: nothing to write, a source that never answers', async () => {
    const nothing = await runCli(['stream', 'udp://127.0.0.1:9']);
    expect(nothing.code).toBe(2);
    expect(oneErrorLine(nothing.stderr)).toMatch(/nothing to write/);
    const port = await freeTcpPort();
    const dead = await runCli(['stream', `tcp://127.0.0.1:${port}`, '--json', join(dir.path, 'dead.jsonl'), '--model', 'none', '--give-up', '1'], 30_000);
    expect(dead.code).toBe(1);
    expect(oneErrorLine(dead.stderr, /: (lost|reconnecting|no frame for)/)).toMatch(/no video after .* Connection refused/);
  }, 40_000);
});
