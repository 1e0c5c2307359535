import { createCanvas } from '@napi-rs/canvas';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceWorker } from '../../src/infer/worker';
import { readNpy } from '../../src/model/weights/npy';
import { validateFrameRecord, type FrameRecord } from '../../src/output/frame-record';
import { decodeMask } from '../../src/output/rle';
import { oneErrorLine, runCli } from '../support/cli';
import { tempDir } from '../support/media';
import { convertTinyModel, TINY_FIXTURES } from '../support/tiny-model';

const FIXTURES = TINY_FIXTURES;

/** The parity fixture's RGB array as a lossless PNG, so the CLI sees exactly torchvision's input pixels. */
function writePng(npy: string, path: string): { width: number; height: number } {
  const array = readNpy(npy);
  const [height, width] = array.shape as [number, number, number];
  const rgb = array.data as Uint8Array;
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  for (let i = 0; i < width * height; i++) image.data.set([rgb[3 * i] as number, rgb[3 * i + 1] as number, rgb[3 * i + 2] as number, 255], 4 * i);
  context.putImageData(image, 0, 0);
  writeFileSync(path, canvas.toBuffer('image/png'));
  return { width, height };
}

describe('dashseg detect', () => {
  const dir = tempDir();
  const model = join(dir.path, 'tiny');
  beforeAll(() => {
    convertTinyModel(model);
  });
  afterAll(() => dir.remove());

  it('writes torchvision\'s detections as contract JSON (RLE masks at image size) and an annotated PNG', async () => {
    const png = join(dir.path, 'image0.png');
    const { width, height } = writePng(join(FIXTURES, 'image0.npy'), png);
    const json = join(dir.path, 'out.jsonl');
    const annotated = join(dir.path, 'annotated.png');
    const result = await runCli(['detect', png, '--model', model, '--score', '0.3', '--json', json, '-o', annotated], 120_000);
    expect(result.stderr).toMatch(/^backend (onnx|wasm|cpu|tensorflow)/m);
    expect(result.code).toBe(0);
    const records = readFileSync(json, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as FrameRecord);
    expect(records).toHaveLength(1);
    const record = records[0] as FrameRecord;
    expect(validateFrameRecord(record)).toEqual([]);
    expect(record).toMatchObject({ frame: 0, pts: 0, width, height, inferred: true });

    const scores = readNpy(join(FIXTURES, 'image0_scores.npy')).data as Float32Array;
    const labels = Array.from(readNpy(join(FIXTURES, 'image0_labels.npy')).data as BigInt64Array, Number);
    const expected = [...scores.keys()].filter((d) => (scores[d] as number) >= 0.3);
    expect(record.instances).toHaveLength(expected.length);
    // Same order (both sorted by score): labels and scores agree one to one, ids are null for stills.
    record.instances.forEach((instance, i) => {
      const d = expected[i] as number;
      expect(instance.id).toBeNull();
      expect(instance.classId).toBe(labels[d]);
      expect(instance.label).toBe(['__background__', 'car', 'person', 'truck', 'bicycle'][labels[d] as number]);
      expect(Math.abs(instance.score - (scores[d] as number))).toBeLessThan(1e-4);
      expect(decodeMask(instance.mask).length).toBe(width * height);
    });
    expect(existsSync(annotated)).toBe(true);
  });

  it('takes its defaults from --config\'s model section, flags over it', async () => {
    const png = join(dir.path, 'config-image0.png');
    writePng(join(FIXTURES, 'image0.npy'), png);
    const scores = Array.from(readNpy(join(FIXTURES, 'image0_scores.npy')).data as Float32Array);
    const config = join(dir.path, 'detect-config.json');
    writeFileSync(config, JSON.stringify({ model: { name: model, score: 0.8, backend: 'cpu' } }));
    const count = async (extra: string[]): Promise<number> => {
      const json = join(dir.path, 'config-out.jsonl');
      const result = await runCli(['detect', png, '--config', config, '--json', json, ...extra], 120_000);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/^backend cpu/m);
      return (JSON.parse(readFileSync(json, 'utf8')) as FrameRecord).instances.length;
    };
    // The fixture has detections on both sides of each threshold, so the counts tell the thresholds apart.
    expect(scores.filter((s) => s >= 0.8).length).toBeLessThan(scores.filter((s) => s >= 0.3).length);
    expect(await count([])).toBe(scores.filter((s) => s >= 0.8).length);
    expect(await count(['--score', '0.3'])).toBe(scores.filter((s) => s >= 0.3).length);

    writeFileSync(config, JSON.stringify({ model: { name: 'none' } }));
    const none = await runCli(['detect', png, '--config', config]);
    expect(none.code).toBe(2);
    expect(oneErrorLine(none.stderr)).toMatch(/detect needs a model/);
  });

  it("runs a model at its own operating point's score when neither flag nor config sets one, and says so", async () => {
    const png = join(dir.path, 'point-image0.png');
    writePng(join(FIXTURES, 'image0.npy'), png);
    const scores = Array.from(readNpy(join(FIXTURES, 'image0_scores.npy')).data as Float32Array);
    const calibrated = join(dir.path, 'calibrated');
    convertTinyModel(calibrated);
    const modelJson = join(calibrated, 'model.json');
    writeFileSync(modelJson, JSON.stringify({ ...(JSON.parse(readFileSync(modelJson, 'utf8')) as object), operatingPoint: { score: 0.8, trackIou: 0.2 } }));
    const json = join(dir.path, 'point-out.jsonl');
    const result = await runCli(['detect', png, '--model', calibrated, '--backend', 'cpu', '--json', json], 120_000);
    expect(result.code).toBe(0);
    expect((JSON.parse(readFileSync(json, 'utf8')) as FrameRecord).instances.length).toBe(scores.filter((s) => s >= 0.8).length);
    // Only the score: detect does not track.
    expect(result.stderr).toContain(`model directory ${calibrated}; score 0.8 (its operating point)\n`);
  });

  it('one clear line for a missing image, a non-image and an unknown model', async () => {
    const missing = await runCli(['detect', join(dir.path, 'nope.png'), '--model', model]);
    expect(missing.code).not.toBe(0);
    expect(oneErrorLine(missing.stderr, /^(backend|model directory) /)).toMatch(/nope\.png: no such file/);

    const text = join(dir.path, 'text.png');
    writeFileSync(text, 'not an image');
    const notImage = await runCli(['detect', text, '--model', model]);
    expect(notImage.code).not.toBe(0);
    expect(oneErrorLine(notImage.stderr, /^(backend|model directory) /)).toMatch(/text\.png: not a readable image/);

    const noModel = await runCli(['detect', text, '--model', join(dir.path, 'no-model')]);
    expect(noModel.code).not.toBe(0);
    expect(oneErrorLine(noModel.stderr, /^(backend|model directory) /)).toMatch(/model ".*no-model" not found/);
  });
});

describe('InferenceWorker', () => {
  const dir = tempDir();
  const model = join(dir.path, 'tiny');
  beforeAll(() => {
    convertTinyModel(model);
  });
  afterAll(() => dir.remove());

  it('runs the model off the main thread, moving pixel buffers both ways', async () => {
    const worker = await InferenceWorker.start({ modelDir: model, backend: 'cpu' });
    expect(worker.backend).toMatch(/^backend cpu/);
    const array = readNpy(join(FIXTURES, 'image1.npy'));
    const [height, width] = array.shape as [number, number];
    const data = new Uint8Array(array.data as Uint8Array);
    const image = { width, height, format: 'rgb' as const, data };
    // Two requests in flight at once, answered in order.
    const [first, second] = await Promise.all([worker.detect(image), worker.detect({ ...image, data: new Uint8Array(array.data as Uint8Array) })]);
    expect(data.byteLength).toBe(0); // transferred, not copied
    expect(first.image.data.byteLength).toBe(width * height * 3);
    const expected = readNpy(join(FIXTURES, 'image1_scores.npy')).data as Float32Array;
    expect(first.detections).toHaveLength(expected.length);
    expect(second.detections.map((d) => d.score)).toEqual(first.detections.map((d) => d.score));
    await worker.close();
    await expect(worker.detect(first.image)).rejects.toThrow(/closed/);
  });

  it('reports a bad model directory as a user error', async () => {
    await expect(InferenceWorker.start({ modelDir: join(dir.path, 'missing') })).rejects.toThrow(/not a dashseg model directory/);
  });
});
