import { existsSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { validateFrameRecord, type FrameRecord } from '../../src/output/frame-record';
import { oneErrorLine, runCli, startCli, whenMoreLines } from '../support/cli';
import { SAMPLE_CLIP, probeStreams, tempDir } from '../support/media';

function jsonLines(file: string): FrameRecord[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as FrameRecord);
}

describe('dashseg annotate (end to end)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('annotates the dashcam clip with --model none: every frame, same timing, audio kept, one JSON line per frame', async () => {
    const video = join(dir.path, 'o.mp4');
    const json = join(dir.path, 'o.jsonl');
    const result = await runCli(['annotate', SAMPLE_CLIP, '-o', video, '--json', json, '--model', 'none']);
    expect(result.stderr).toMatch(/annotated 221 frames/);
    expect(result.code).toBe(0);

    const { streams, format } = probeStreams(video);
    const v = streams.find((s) => s.codec_type === 'video');
    expect(v).toMatchObject({ codec_name: 'h264', width: 960, height: 540, r_frame_rate: '25/1', nb_read_frames: '221' });
    expect(Math.abs(Number(format.duration) - 8.84)).toBeLessThan(0.1);
    expect(streams.some((s) => s.codec_type === 'audio')).toBe(true);

    const records = jsonLines(json);
    expect(records).toHaveLength(221);
    records.forEach((record, i) => {
      expect(validateFrameRecord(record)).toEqual([]);
      expect(record).toMatchObject({ schemaVersion: 1, source: SAMPLE_CLIP, frame: i, width: 960, height: 540, inferred: false, instances: [] });
      if (i > 0) expect(record.pts - (records[i - 1] as FrameRecord).pts).toBeCloseTo(0.04, 6);
    });
  });

  it('creates missing output directories, as the first command in the README needs', async () => {
    const video = join(dir.path, 'fresh', 'out', 'o.mp4');
    const json = join(dir.path, 'fresh', 'json', 'o.jsonl');
    const result = await runCli(['annotate', SAMPLE_CLIP, '-o', video, '--json', json, '--model', 'none', '--duration', '0.5', '-q']);
    expect(result.code).toBe(0);
    expect(existsSync(video) && existsSync(json)).toBe(true);
  });

  it('--no-overwrite writes a new output and refuses an existing one in one line', async () => {
    const video = join(dir.path, 'kept.mp4');
    const args = ['annotate', SAMPLE_CLIP, '-o', video, '--model', 'none', '--duration', '0.5', '--no-overwrite', '-q'];
    const first = await runCli(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(probeStreams(video).streams[0]).toMatchObject({ codec_name: 'h264', width: 960, height: 540 });
    const again = await runCli(args);
    expect(again.code).not.toBe(0);
    expect(oneErrorLine(again.stderr)).toMatch(/kept\.mp4: already exists \(pass --overwrite to replace it\)/);
  });

  it('writes JSON Lines to stdout with --json - and keeps progress off stdout', async () => {
    const result = await runCli(['annotate', SAMPLE_CLIP, '--json', '-', '--model', 'none', '--duration', '1']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(25);
    lines.forEach((line) => expect(validateFrameRecord(JSON.parse(line))).toEqual([]));
  });

  it('without --model uses the default model and says which and why (the bundled one, with no COCO weights pulled)', async () => {
    // An empty model cache, so a model pulled on the machine running the tests cannot answer instead.
    const env = { ...process.env, DASHSEG_HOME: join(dir.path, 'empty-home') };
    const json = join(dir.path, 'default.jsonl');
    const result = await runCli(['annotate', SAMPLE_CLIP, '--json', json, '--duration', '0.2'], 120_000, env);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^model dashseg-synth \(default: bundled, synthetic scenes only; dashseg weights pull maskrcnn_resnet50_fpn_coco for real footage\); score 0\.7, track IoU 0\.2 \(its operating point\)$/m,
    );
    expect(readFileSync(json, 'utf8').trim().split('\n')).toHaveLength(5);
  }, 120_000);

  describe('bad inputs: one clear line, non-zero exit, no stack trace, no hang', () => {
    it('missing file', async () => {
      const result = await runCli(['annotate', join(dir.path, 'nope.mp4'), '-o', join(dir.path, 'x.mp4'), '--model', 'none']);
      expect(result.code).not.toBe(0);
      oneErrorLine(result.stderr);
      expect(result.stderr).toMatch(/nope\.mp4: no such file/);
    });

    it('a text file renamed .mp4', async () => {
      const fake = join(dir.path, 'notes.mp4');
      writeFileSync(fake, 'this is not a video\n');
      const result = await runCli(['annotate', fake, '-o', join(dir.path, 'x.mp4'), '--model', 'none']);
      expect(result.code).not.toBe(0);
      oneErrorLine(result.stderr);
      expect(result.stderr).toMatch(/notes\.mp4: not a readable video/);
    });

    it('a truncated mp4 still yields the frames that could be decoded', async () => {
      const truncated = join(dir.path, 'truncated.mp4');
      writeFileSync(truncated, readFileSync(SAMPLE_CLIP).subarray(0, 100_000));
      const video = join(dir.path, 'truncated.out.mp4');
      const json = join(dir.path, 'truncated.out.jsonl');
      const result = await runCli(['annotate', truncated, '-o', video, '--json', json, '--model', 'none', '--quiet']);
      expect(result.code).not.toBe(0);
      oneErrorLine(result.stderr);
      expect(result.stderr).toMatch(/ended early/);
      const records = jsonLines(json);
      expect(records.length).toBeGreaterThan(0);
      const frames = probeStreams(video).streams.find((s) => s.codec_type === 'video')?.nb_read_frames;
      expect(Number(frames)).toBe(records.length);
    });

    it('an unwritable output path: below a file', async () => {
      const file = join(dir.path, 'plain-file');
      writeFileSync(file, '');
      const result = await runCli(['annotate', SAMPLE_CLIP, '-o', join(file, 'sub', 'o.mp4'), '--model', 'none']);
      expect(result.code).not.toBe(0);
      oneErrorLine(result.stderr);
      expect(result.stderr).toMatch(/cannot create directory .*a parent is a file/);
    });

    it('an output directory without write permission', async () => {
      if (process.getuid?.() === 0) {
        // root writes anywhere: /proc is read-only for everyone.
        const result = await runCli(['annotate', SAMPLE_CLIP, '-o', '/proc/dashseg-test.mp4', '--model', 'none']);
        expect(result.code).not.toBe(0);
        oneErrorLine(result.stderr);
        return;
      }
      const locked = join(dir.path, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      const result = await runCli(['annotate', SAMPLE_CLIP, '-o', join(locked, 'o.mp4'), '--model', 'none']);
      expect(result.code).not.toBe(0);
      oneErrorLine(result.stderr);
    });

    it('an unknown flag', async () => {
      const result = await runCli(['annotate', SAMPLE_CLIP, '-o', join(dir.path, 'x.mp4'), '--model', 'none', '--frobnicate']);
      expect(result.code).toBe(2);
      oneErrorLine(result.stderr);
      expect(result.stderr).toMatch(/frobnicate/);
    });
  });

  it('on SIGINT half-way leaves a playable mp4 and whole JSON lines covering the same frames', async () => {
    const video = join(dir.path, 'interrupted.mp4');
    const json = join(dir.path, 'interrupted.jsonl');
    // A slow preset makes the run last long enough to interrupt it in the middle.
    const { child, done } = startCli(['annotate', SAMPLE_CLIP, '-o', video, '--json', json, '--model', 'none', '--preset', 'veryslow']);
    await whenMoreLines(json, 30);
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted after \d+ frames/);
    const records = jsonLines(json);
    expect(records.length).toBeGreaterThan(30);
    expect(records.length).toBeLessThan(221);
    records.forEach((record, i) => expect(record.frame).toBe(i));
    const frames = probeStreams(video).streams.find((s) => s.codec_type === 'video')?.nb_read_frames;
    expect(Number(frames)).toBe(records.length);
  });
});
