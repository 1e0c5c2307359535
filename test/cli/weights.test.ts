import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadModelDirectory } from '../../src/model/model-dir';
import { toFloat32 } from '../../src/model/weights/tensor';
import { oneErrorLine, runCli } from '../support/cli';
import { tempDir } from '../support/media';

const FIXTURES = join(__dirname, '..', 'fixtures', 'maskrcnn');
const TINY = join(FIXTURES, 'tiny.pt');
const TINY_LEGACY_FP16 = join(FIXTURES, 'tiny-legacy-fp16.pt');

describe('dashseg weights', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('inspect describes a checkpoint as it would convert', async () => {
    const result = await runCli(['weights', 'inspect', TINY]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Mask R-CNN v1, ResNet \(basic, blocks 1\/1\/1\/1\) \+ FPN\(16\), stage channels 8\/16\/24\/32/);
    expect(result.stdout).toMatch(/classes\s+5 \(4 named\)/);
    expect(result.stdout).toMatch(/zip format, 102 tensors, stored as float32/);
  });

  it('converts a legacy fp16 checkpoint nested under "model" to the same model as the zip fp32 one', async () => {
    const fromLegacy = join(dir.path, 'legacy');
    const fromZip = join(dir.path, 'zip');
    const labels = join(FIXTURES, 'labels.txt');
    const a = await runCli(['weights', 'convert', TINY_LEGACY_FP16, '--out', fromLegacy, '--labels', labels, '--min-size', '96', '--max-size', '160']);
    const b = await runCli(['weights', 'convert', TINY, '--out', fromZip, '--labels', labels]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const legacy = loadModelDirectory(fromLegacy);
    const zip = loadModelDirectory(fromZip);
    expect(legacy.config.labels).toEqual(['__background__', 'car', 'person', 'truck', 'bicycle']);
    expect(legacy.config.transform).toMatchObject({ minSize: 96, maxSize: 160, sizeDivisible: 32 });
    expect(zip.config.transform).toMatchObject({ minSize: 800, maxSize: 1333 });
    expect(legacy.config.architecture).toEqual(zip.config.architecture);
    expect(legacy.config.source).toMatchObject({ file: 'tiny-legacy-fp16.pt', format: 'legacy' });
    // The fp16 copy holds the fp32 weights rounded to half precision: equal to 3 significant digits.
    let worst = 0;
    for (const [name, tensor] of zip.tensors) {
      const exact = toFloat32(tensor);
      const half = toFloat32(legacy.tensors.get(name) as typeof tensor);
      exact.forEach((value, i) => (worst = Math.max(worst, Math.abs((half[i] as number) - value) - Math.abs(value) * 1e-3)));
    }
    expect(worst).toBeLessThanOrEqual(1e-7);
  });

  it('stores float16 weights at half the size when asked', async () => {
    const out = join(dir.path, 'half');
    expect((await runCli(['weights', 'convert', TINY, '--out', out, '--dtype', 'float16'])).code).toBe(0);
    const full = statSync(join(dir.path, 'zip', 'weights.safetensors')).size;
    expect(statSync(join(out, 'weights.safetensors')).size).toBeLessThan(full * 0.55);
    expect(loadModelDirectory(out).config.weights.dtype).toBe('float16');
  });

  it('records the anchors a model was trained with, and refuses anchors its RPN head cannot have', async () => {
    const out = join(dir.path, 'small-anchors');
    const converted = await runCli(['weights', 'convert', TINY, '--out', out, '--anchor-sizes', '16,32,64,128,256', '--aspect-ratios', '0.5,1,2']);
    expect(converted.code).toBe(0);
    expect(loadModelDirectory(out).config.anchors).toEqual({
      sizes: [[16], [32], [64], [128], [256]],
      aspectRatios: Array.from({ length: 5 }, () => [0.5, 1, 2]),
    });
    expect((await runCli(['weights', 'inspect', out])).stdout).toMatch(/anchors\s+16, 32, 64, 128, 256 px, ratios 0\.5\/1\/2/);
    // Without the flags, torchvision's anchors are written down, so every converted model says what it uses.
    expect(loadModelDirectory(join(dir.path, 'zip')).config.anchors?.sizes).toEqual([[32], [64], [128], [256], [512]]);

    const refusals: [string[], RegExp][] = [
      [['--anchor-sizes', '16/24,32/48,64/96,128/192,256/384'], /6 anchors per location at FPN level 0, but the RPN head predicts 3/],
      [['--aspect-ratios', '1'], /1 anchors per location at FPN level 0, but the RPN head predicts 3/],
      [['--anchor-sizes', '16,32'], /anchors need sizes and aspect ratios for each of the 5 FPN levels/],
      [['--anchor-sizes', '16,,64,128,256'], /--anchor-sizes must be positive numbers/],
      [['--aspect-ratios', '0,1,2'], /--aspect-ratios must be positive numbers/],
    ];
    for (const [flags, message] of refusals) {
      const result = await runCli(['weights', 'convert', TINY, '--out', join(dir.path, 'refused'), ...flags]);
      expect(result.code).not.toBe(0);
      expect(oneErrorLine(result.stderr)).toMatch(message);
    }

    const config = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { anchors: { sizes: number[][] } };
    config.anchors.sizes.pop();
    writeFileSync(join(out, 'model.json'), JSON.stringify(config));
    expect(() => loadModelDirectory(out)).toThrow(/model\.json: anchors need sizes and aspect ratios for each of the 5 FPN levels/);
  });

  it('records the operating point a model was calibrated at, only when given', async () => {
    const out = join(dir.path, 'calibrated');
    const converted = await runCli(['weights', 'convert', TINY, '--out', out, '--default-score', '0.7', '--default-track-iou', '0.2']);
    expect(converted.code).toBe(0);
    expect(loadModelDirectory(out).config.operatingPoint).toEqual({ score: 0.7, trackIou: 0.2 });
    expect((await runCli(['weights', 'inspect', out])).stdout).toMatch(/runs at\s+score 0\.7, track IoU 0\.2 unless told otherwise/);
    const scoreOnly = join(dir.path, 'score-only');
    expect((await runCli(['weights', 'convert', TINY, '--out', scoreOnly, '--default-score', '0.6'])).code).toBe(0);
    expect(loadModelDirectory(scoreOnly).config.operatingPoint).toEqual({ score: 0.6 });
    // Without the flags there is no operating point at all: the tool's generic one applies, and inspect says nothing.
    expect(loadModelDirectory(join(dir.path, 'zip')).config.operatingPoint).toBeUndefined();
    expect((await runCli(['weights', 'inspect', join(dir.path, 'zip')])).stdout).not.toMatch(/runs at/);

    for (const [flags, message] of [
      [['--default-score', '1.5'], /--default-score must be a number from 0 to 1/],
      [['--default-track-iou', '0'], /--default-track-iou must be a number from 0\.01 to 1/],
    ] as const) {
      const result = await runCli(['weights', 'convert', TINY, '--out', join(dir.path, 'refused'), ...flags]);
      expect(result.code).toBe(2);
      expect(oneErrorLine(result.stderr)).toMatch(message);
    }
  });

  it('refuses, in one line, what it cannot convert', async () => {
    const coco = await runCli(['weights', 'convert', TINY, '--out', join(dir.path, 'coco'), '--labels', 'coco']);
    expect(coco.code).not.toBe(0);
    expect(oneErrorLine(coco.stderr)).toMatch(/--labels coco names 91 classes, but the model has 5/);

    const notDetector = await runCli(['weights', 'convert', join(__dirname, '..', 'fixtures', 'checkpoints', 'dtypes.pt'), '--out', join(dir.path, 'x')]);
    expect(notDetector.code).not.toBe(0);
    expect(oneErrorLine(notDetector.stderr)).toMatch(/tensor backbone\.body\.conv1\.weight is missing/);

    const garbage = join(dir.path, 'garbage.pt');
    writeFileSync(garbage, 'definitely not a checkpoint');
    const bad = await runCli(['weights', 'inspect', garbage]);
    expect(bad.code).not.toBe(0);
    oneErrorLine(bad.stderr);
  });

  describe('pull', () => {
    let server: Server;
    let base = '';
    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.url === '/tiny.pt') {
          response.writeHead(200, { 'content-length': statSync(TINY).size });
          response.end(readFileSync(TINY));
        } else if (request.url === '/moved') {
          response.writeHead(302, { location: '/tiny.pt' });
          response.end();
        } else {
          response.writeHead(404);
          response.end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    function manifest(url: string, sha256Prefix: string): string {
      const path = join(dir.path, `manifest-${sha256Prefix}.json`);
      const entry = { description: 'tiny', url, file: 'tiny.pt', sha256Prefix, convert: { labels: join(FIXTURES, 'labels.txt'), bnEps: 0 } };
      writeFileSync(path, JSON.stringify({ schemaVersion: 1, models: { tiny: entry } }));
      return path;
    }
    const sha = createHash('sha256').update(readFileSync(TINY)).digest('hex');

    it('downloads (following a redirect), verifies and converts into the cache, once', async () => {
      const home = join(dir.path, 'home');
      const env = { ...process.env, DASHSEG_HOME: home, DASHSEG_MANIFEST: manifest(`${base}/moved`, sha.slice(0, 8)) };
      const first = await runCli(['weights', 'pull', 'tiny'], 30_000, env);
      expect(first.stderr).toMatch(/installed: tiny in /);
      expect(first.code).toBe(0);
      const model = loadModelDirectory(join(home, 'models', 'tiny'));
      expect(model.config.frozenBatchNormEps).toBe(0);
      expect(model.config.labels[1]).toBe('car');
      const again = await runCli(['weights', 'pull', 'tiny'], 30_000, env);
      expect(again.stderr).toMatch(/already installed/);
    });

    it('refuses a download whose hash does not match', async () => {
      const home = join(dir.path, 'home-bad-hash');
      const env = { ...process.env, DASHSEG_HOME: home, DASHSEG_MANIFEST: manifest(`${base}/tiny.pt`, '00000000') };
      const result = await runCli(['weights', 'pull', 'tiny'], 30_000, env);
      expect(result.code).not.toBe(0);
      expect(oneErrorLine(result.stderr)).toMatch(/does not match the manifest's 00000000/);
      expect(existsSync(join(home, 'models', 'tiny'))).toBe(false);
    });

    it('offline, explains how to install the weights by hand', async () => {
      const env = { ...process.env, DASHSEG_HOME: join(dir.path, 'home-offline'), DASHSEG_MANIFEST: manifest('http://127.0.0.1:1/tiny.pt', sha.slice(0, 8)) };
      const result = await runCli(['weights', 'pull', 'tiny'], 30_000, env);
      expect(result.code).not.toBe(0);
      expect(oneErrorLine(result.stderr)).toMatch(/cannot download .*ECONNREFUSED.*download http:\/\/127\.0\.0\.1:1\/tiny\.pt on a machine with internet access.*dashseg weights convert tiny\.pt --out .* --bn-eps 0/);
    });

    it('names the known models for an unknown one', async () => {
      const result = await runCli(['weights', 'pull', 'nope']);
      expect(oneErrorLine(result.stderr)).toMatch(/unknown model "nope" \(known: maskrcnn_resnet50_fpn_coco\)/);
    });
  });
});
