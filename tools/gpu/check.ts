/**
 * The GPU check: on a machine with a GPU, for each ONNX Runtime backend that loads there (onnx, onnx-webgpu,
 * onnx-cuda), the parity suites' comparisons with torchvision (the ResNet-50 fixtures on both of their images, the
 * bundled model on the two sample stills, same tolerances as the tests) and the time per image, beside torchvision on
 * that machine's own torch (CPU and CUDA) with the same weights. No test can reach a GPU, so this is how the GPU
 * paths are checked; tools/gpu/bundle.sh packs what it needs for a machine with no Node.js and no network.
 *
 *   node dist/tools/gpu/check.js prepare DIR     here: decodes the images once (no image decoder travels)
 *   node dist/tools/gpu/check.js run DIR [OUT]   there: prints a markdown report, and writes it to OUT/gpu-check.md
 *
 * GPU_CHECK_RUNS (default 5) timed runs after a warm-up; GPU_CHECK_BACKENDS=onnx,onnx-webgpu limits the backends.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../src/errors';
import { type OnnxBackendName, BACKEND_SPECS, describeBackend, loadOnnxRuntime, selectBackend } from '../../src/model/backend';
import type { Detection, RgbImage, StageTimings } from '../../src/model/mask-rcnn';
import { BUNDLED_DEFAULT, shippedModelDir } from '../../src/model/model-choice';
import { loadModelDirectory, type ModelConfig } from '../../src/model/model-dir';
import { OnnxMaskRCNN } from '../../src/model/onnx/mask-rcnn';
import type { RawTensor } from '../../src/model/weights/tensor';
import { packageRoot } from '../../src/paths';
import { type ParityReport, compareWithReference, parityFailures, readCroppedReference, readReference } from '../parity/reference';
import { RESNET50_FIXTURES, type ResNet50Image, checkResNet50Image, resnet50Model, resnet50SyntheticImage } from '../parity/resnet50';

const RUNS = Number(process.env.GPU_CHECK_RUNS ?? 5);
const BACKENDS: OnnxBackendName[] = ['onnx', 'onnx-webgpu', 'onnx-cuda'];
const ONLY = process.env.GPU_CHECK_BACKENDS?.split(',').map((name) => name.trim());
const ROOT = packageRoot();
const STILLS = [0, 1].map((index) => ({ name: `still${index}`, file: join(ROOT, 'samples', 'stills', 'images', `${String(index).padStart(6, '0')}.png`) }));
const PHOTO = join(ROOT, '..', 'shared', 'data', 'udacity-lanelines', 'solidWhiteRight.jpg');
const PYTHON = process.env.GPU_CHECK_PYTHON ?? 'python3';

/** An image decoded here and carried as bytes: `<name>.rgb` and its size in `<name>.json`. */
function writeRaw(dir: string, name: string, image: RgbImage): void {
  writeFileSync(join(dir, `${name}.rgb`), image.data);
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ width: image.width, height: image.height, format: image.format }));
}

function readRaw(dir: string, name: string): RgbImage {
  const { width, height, format } = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Omit<RgbImage, 'data'>;
  return { width, height, format, data: new Uint8Array(readFileSync(join(dir, `${name}.rgb`))) };
}

async function prepare(dir: string): Promise<void> {
  // Loaded here only: the image decoder (@napi-rs/canvas, 35 MB) need not travel.
  const { readStillImage } = await import('../../src/video/still-image');
  mkdirSync(dir, { recursive: true });
  writeRaw(dir, 'photo', await readStillImage(PHOTO));
  for (const still of STILLS) writeRaw(dir, still.name, await readStillImage(still.file));
}

interface Timed {
  detections: Detection[];
  /** Median over the runs, after one warm-up. */
  ms: number;
  stages: StageTimings;
}

async function timeDetect(model: OnnxMaskRCNN, image: RgbImage): Promise<Timed> {
  let detections = await model.detect(image);
  const runs: { ms: number; stages: StageTimings }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const stages: StageTimings = { backbone: 0, rpn: 0, boxHead: 0, maskHead: 0 };
    const started = performance.now();
    detections = await model.detect(image, stages);
    runs.push({ ms: performance.now() - started, stages });
  }
  runs.sort((a, b) => a.ms - b.ms);
  const middle = runs[Math.floor(runs.length / 2)] as { ms: number; stages: StageTimings };
  return { detections, ...middle };
}

interface Row {
  backend: string;
  model: string;
  image: string;
  parity: ParityReport;
  failures: string[];
  ms: number;
  stages: StageTimings;
}

async function checkModel(backend: OnnxBackendName, model: string, config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, cases: { image: string; pixels: RgbImage; reference: () => ReturnType<typeof readReference> }[]): Promise<Row[]> {
  const spec = BACKEND_SPECS[backend];
  if (spec.engine !== 'onnx') throw new Error(`${backend} is not an ONNX Runtime backend`);
  const detector = await OnnxMaskRCNN.create(config, tensors, loadOnnxRuntime(), { provider: spec.provider, ...(backend === 'onnx' ? { threads: cpus().length } : {}) });
  try {
    const rows: Row[] = [];
    for (const { image, pixels, reference } of cases) {
      const timed = await timeDetect(detector, pixels);
      const parity = compareWithReference(timed.detections, reference());
      rows.push({ backend, model, image, parity, failures: parityFailures(parity), ms: timed.ms, stages: timed.stages });
      process.stderr.write(`${backend} ${model} ${image}: ${timed.ms.toFixed(0)} ms, ${parityFailures(parity).join('; ') || 'parity'}\n`);
    }
    return rows;
  } finally {
    await detector.dispose();
  }
}

/** torchvision on this machine's torch with the fixtures' weights, on its CPU and on CUDA where torch sees it. */
function torchvisionTimes(inputs: string): string[] {
  if (spawnSync(PYTHON, ['-c', 'import torchvision'], { stdio: 'ignore' }).status !== 0) return [`torchvision: not timed (${PYTHON} has no torchvision)`];
  const script = join(ROOT, 'tools', 'gpu', 'torchvision_times.py');
  try {
    const out = execFileSync(PYTHON, [script, join(inputs, 'photo'), String(RUNS)], { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
    return out.trim().split('\n');
  } catch (error) {
    return [`torchvision: failed (${errorMessage(error)})`];
  }
}

async function run(inputs: string, out: string | undefined): Promise<void> {
  const lines: string[] = [`# GPU check, ${new Date().toISOString()}`, '', `Machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, node ${process.version}; ${RUNS} timed runs after a warm-up, median.`, ''];
  const available: OnnxBackendName[] = [];
  for (const backend of BACKENDS.filter((name) => ONLY === undefined || ONLY.includes(name))) {
    try {
      lines.push(`- ${describeBackend(await selectBackend({ backend }))}`);
      available.push(backend);
    } catch (error) {
      lines.push(`- ${backend}: cannot run: ${errorMessage(error)}`);
    }
  }
  process.stderr.write(`${lines.join('\n')}\n`);
  const resnet = resnet50Model(RESNET50_FIXTURES);
  if (resnet.sha256 !== resnet.recipe.stateDictSha256) throw new Error('the regenerated ResNet-50 state dict is not the one torchvision ran');
  const photo = readRaw(inputs, 'photo');
  const resnetImages: Record<ResNet50Image, RgbImage> = { photo, synthetic: resnet50SyntheticImage(resnet.recipe) };
  for (const [name, image] of Object.entries(resnetImages)) checkResNet50Image(name as ResNet50Image, image, resnet.recipe);
  const bundled = loadModelDirectory(shippedModelDir(BUNDLED_DEFAULT));
  const stills = STILLS.map((still) => ({ ...still, pixels: readRaw(inputs, still.name) }));
  const rows: Row[] = [];
  for (const backend of available) {
    try {
      rows.push(
        ...(await checkModel(
          backend,
          'ResNet-50-FPN (fixtures)',
          resnet.config,
          resnet.tensors,
          (Object.keys(resnetImages) as ResNet50Image[]).map((image) => ({ image, pixels: resnetImages[image], reference: () => readCroppedReference(RESNET50_FIXTURES, image) })),
        )),
        ...(await checkModel(
          backend,
          'bundled (dashseg-synth)',
          bundled.config,
          bundled.tensors,
          stills.map(({ name, pixels }) => ({ image: name, pixels, reference: () => readReference(join(ROOT, 'test', 'fixtures', 'synth-model'), name, pixels.height, pixels.width) })),
        )),
      );
    } catch (error) {
      lines.push(`- ${backend}: failed while running: ${errorMessage(error)}`);
    }
  }
  const seconds = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  lines.push(
    '',
    '| backend | model | image | parity | max score diff | max box diff | min mask IoU | total | backbone + FPN + RPN head | RPN | box head | mask head + paste |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.backend} | ${r.model} | ${r.image} | ${r.failures.length === 0 ? `yes (${r.parity.matched} of ${r.parity.theirs})` : `**no**: ${r.failures.join('; ')}`} | ` +
        `${r.parity.maxScoreDiff.toExponential(1)} | ${r.parity.maxBoxDiff.toExponential(1)} px | ${r.parity.minMaskIou.toFixed(3)} | ${seconds(r.ms)} | ` +
        `${seconds(r.stages.backbone)} | ${seconds(r.stages.rpn)} | ${seconds(r.stages.boxHead)} | ${seconds(r.stages.maskHead)} |`,
    ),
    '',
    ...torchvisionTimes(inputs),
  );
  const report = `${lines.join('\n')}\n`;
  process.stdout.write(report);
  if (out !== undefined) {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'gpu-check.md'), report);
  }
  if (rows.length === 0 || rows.some((row) => row.failures.length > 0)) process.exitCode = 1;
}

const [command, dir, out] = process.argv.slice(2);
if ((command !== 'prepare' && command !== 'run') || dir === undefined) {
  process.stderr.write('usage: check.js prepare DIR | check.js run DIR [OUT]\n');
  process.exit(2);
}
if (command === 'run' && !existsSync(join(dir, 'photo.rgb'))) {
  process.stderr.write(`${dir} holds no prepared images: run \`check.js prepare ${dir}\` first\n`);
  process.exit(2);
}
(command === 'prepare' ? prepare(dir) : run(dir, out)).catch((error: unknown) => {
  process.stderr.write(`gpu check failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
