/**
 * `dashseg annotate --model`: the whole pipeline with a real model in real worker threads (the tiny seeded
 * torchvision Mask R-CNN of the parity tests), on the dashcam clip.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateFrameRecord, type FrameRecord, type InstanceRecord } from '../../src/output/frame-record';
import { decodeMask } from '../../src/output/rle';
import { oneErrorLine, runCli } from '../support/cli';
import { SAMPLE_CLIP, probeStreams, referenceFrame, tempDir } from '../support/media';
import { convertTinyModel } from '../support/tiny-model';

function jsonLines(file: string): FrameRecord[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as FrameRecord);
}

/** Bounding rectangle of a decoded RLE mask: [x0, y0, x1, y1] (exclusive), or undefined when empty. */
function maskBounds(instance: InstanceRecord): [number, number, number, number] | undefined {
  const [height, width] = instance.mask.size;
  const mask = decodeMask(instance.mask);
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x + 1);
      y1 = Math.max(y1, y + 1);
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1, y1];
}

describe('dashseg annotate with a model', () => {
  const dir = tempDir();
  const model = join(dir.path, 'tiny');
  beforeAll(() => convertTinyModel(model));
  afterAll(() => dir.remove());

  it('--every 3 on the whole clip: 221 frames, timing and audio kept; every third line inferred, the others carry its tracks moved along', async () => {
    const video = join(dir.path, 'every3.mp4');
    const json = join(dir.path, 'every3.jsonl');
    const result = await runCli(['annotate', SAMPLE_CLIP, '-o', video, '--json', json, '--model', model, '--every', '3', '--score', '0.3'], 180_000);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/backend onnx \(onnxruntime-node [0-9.]+, CPU execution provider\).*, 1 thread per worker; 2 inference workers$/m);
    expect(result.stderr).toMatch(/annotated 221 frames, 74 inferred, \d+ instances in \d+ tracks/);

    const { streams, format } = probeStreams(video);
    expect(streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 960, height: 540, r_frame_rate: '25/1', nb_read_frames: '221' });
    expect(Math.abs(Number(format.duration) - 8.84)).toBeLessThan(0.1);
    expect(streams.some((s) => s.codec_type === 'audio')).toBe(true);

    const records = jsonLines(json);
    expect(records.map((r) => r.frame)).toEqual(Array.from({ length: 221 }, (_, i) => i));
    for (const record of records) expect(validateFrameRecord(record)).toEqual([]);
    expect(records.map((r) => r.inferred)).toEqual(records.map((_, i) => i % 3 === 0));

    let moved = 0;
    let tracked = 0;
    records.forEach((record, i) => {
      const scores = record.instances.map((instance) => instance.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      for (const instance of record.instances) {
        expect(Number.isInteger(instance.id)).toBe(true);
        expect(instance.score).toBeGreaterThanOrEqual(0.3);
      }
      if (record.inferred) return;
      // A carried frame reports exactly the tracks of the inferred frame before it, with the same scores, each mask
      // that frame's mask moved by the track's velocity over the time since.
      const anchor = records[i - (i % 3)];
      expect(record.instances.map((x) => x.id).sort()).toEqual(anchor.instances.map((x) => x.id).sort());
      for (const instance of record.instances) {
        const seen = anchor.instances.find((x) => x.id === instance.id) as InstanceRecord;
        expect(instance.score).toBe(seen.score);
        expect(instance.velocity).toEqual(seen.velocity);
        const [vx, vy] = seen.velocity as [number, number];
        const dt = record.pts - anchor.pts;
        const expectedBox = seen.box.map((v, k) => Math.min(Math.max(v + (k % 2 === 0 ? vx : vy) * dt, 0), k % 2 === 0 ? 960 : 540));
        instance.box.forEach((v, k) => expect(v).toBeCloseTo(expectedBox[k], 0));
        const before = maskBounds(seen);
        const after = maskBounds(instance);
        tracked++;
        if (!before || !after) continue;
        const [dx, dy] = [Math.round(vx * dt), Math.round(vy * dt)];
        const inside = before[0] + dx >= 0 && before[1] + dy >= 0 && before[2] + dx <= 960 && before[3] + dy <= 540;
        if (!inside) continue;
        // The JSON's velocity is rounded to 0.1 px/s, so its motion can round to one pixel off the tracker's own.
        after.forEach((v, k) => expect(Math.abs(v - (before[k] + (k % 2 === 0 ? dx : dy)))).toBeLessThanOrEqual(1));
        if (dx !== 0 || dy !== 0) moved++;
      }
    });
    // The random model still finds (nonsense) objects the tracker follows, so the checks above are not vacuous.
    expect(tracked).toBeGreaterThan(20);
    // Tracks are reported from their first detection (the default backfill), not from the third that confirmed
    // them: without it nothing could be reported before frame 6, the third inferred frame.
    expect(records.slice(0, 6).some((r) => r.instances.length > 0)).toBe(true);
    expect(moved).toBeGreaterThan(5);

    // Masks are drawn: where the first instance's mask is, the output frame differs from the source frame.
    const withInstances = records.find((r) => r.instances.length > 0) as FrameRecord;
    const drawn = referenceFrame(video, withInstances.frame);
    const source = referenceFrame(SAMPLE_CLIP, withInstances.frame);
    const mask = decodeMask(withInstances.instances[0].mask);
    let changed = 0;
    let inMask = 0;
    for (let p = 0; p < mask.length; p++) {
      if (!mask[p]) continue;
      inMask++;
      if (Math.abs(drawn[p] - source[p]) > 12) changed++;
    }
    expect(changed / inMask).toBeGreaterThan(0.5);
  }, 240_000);

  it('the result does not depend on the number of workers: one and two give the same JSON', async () => {
    const outputs: string[] = [];
    for (const workers of ['1', '2']) {
      const json = join(dir.path, `w${workers}.jsonl`);
      const result = await runCli(['annotate', SAMPLE_CLIP, '--json', json, '--model', model, '--workers', workers, '--duration', '1', '--score', '0.3'], 120_000);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(new RegExp(`${workers} inference workers?`));
      outputs.push(readFileSync(json, 'utf8'));
    }
    expect(outputs[1]).toBe(outputs[0]);
    expect(jsonLines(join(dir.path, 'w1.jsonl')).every((r) => r.inferred)).toBe(true);
  }, 240_000);

  it('--max-fps 5 infers five frames a second of video; --classes keeps only the classes named', async () => {
    const json = join(dir.path, 'fps.jsonl');
    const result = await runCli(['annotate', SAMPLE_CLIP, '--json', json, '--model', model, '--max-fps', '5', '--duration', '4', '--classes', 'truck,person', '--score', '0.1'], 120_000);
    expect(result.code).toBe(0);
    const records = jsonLines(json);
    expect(records).toHaveLength(100);
    expect(records.filter((r) => r.inferred).map((r) => r.frame)).toEqual(Array.from({ length: 20 }, (_, k) => k * 5));
    const labels = new Set(records.flatMap((r) => r.instances.map((x) => x.label)));
    expect(labels.size).toBeGreaterThan(0);
    expect([...labels].every((label) => label === 'truck' || label === 'person')).toBe(true);
  }, 120_000);

  it('user errors are one line: an unknown class, a model that does not exist, a bad --every', async () => {
    const json = join(dir.path, 'x.jsonl');
    const unknown = await runCli(['annotate', SAMPLE_CLIP, '--json', json, '--model', model, '--classes', 'car,unicorn']);
    expect(unknown.code).not.toBe(0);
    expect(oneErrorLine(unknown.stderr)).toMatch(/unknown class "unicorn": this model knows car, person, truck, bicycle/);
    const missing = await runCli(['annotate', SAMPLE_CLIP, '--json', json, '--model', join(dir.path, 'nope')]);
    expect(missing.code).not.toBe(0);
    expect(oneErrorLine(missing.stderr)).toMatch(/model ".*nope" not found/);
    const every = await runCli(['annotate', SAMPLE_CLIP, '--json', json, '--model', model, '--every', '0']);
    expect(every.code).toBe(2);
    expect(oneErrorLine(every.stderr)).toMatch(/--every must be a whole number >= 1/);
  }, 60_000);
});
