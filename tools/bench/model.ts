/**
 * `npm run bench:model`: Mask R-CNN ResNet-50-FPN per image at 540x960, by backend and input size, split by stage,
 * with peak memory, beside torchvision's time for the same weights and image when Debian's python3 has it.
 *
 * The weights are torchvision's own random initialisation (seeded), saved by the Python side and converted by
 * `convertCheckpoint` like a user's checkpoint; without torchvision, dashseg alone is timed on weights made here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_ORDER, BACKEND_SPECS, describeBackend, loadOnnxRuntime, selectBackend, type BackendName } from '../../src/model/backend';
import { type Detector, MaskRCNN, type StageTimings } from '../../src/model/mask-rcnn';
import { OnnxMaskRCNN } from '../../src/model/onnx/mask-rcnn';
import { readStillImage } from '../../src/video/still-image';
import { convertCheckpoint, loadModelDirectory } from '../../src/model/model-dir';
import { packageRoot } from '../../src/paths';
import { machineLine, median, writeSection } from './report';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** `BENCH_BACKENDS=onnx,wasm` measures only those. */
const ONLY = process.env.BENCH_BACKENDS?.split(',').map((name) => name.trim());
/** ONNX Runtime and torch are timed at each of these thread counts; TF.js's backends set their own. */
const THREADS = [1, 2];
const MIN_SIZES = [800, 512];
const PYTHON = '/usr/bin/python3';
const IMAGE = join(packageRoot(), '..', 'shared', 'data', 'udacity-lanelines', 'solidWhiteRight.jpg');

/** torchvision's times with `threads` intra-op threads (OMP_NUM_THREADS, which torch reads at start-up). */
function torchvisionTimes(checkpoint: string, threads: number): TorchTimes {
  const out = execFileSync(PYTHON, [join(packageRoot(), 'tools', 'bench', 'torchvision_model.py'), checkpoint, IMAGE, String(RUNS), ...MIN_SIZES.map(String)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  const times = JSON.parse(out.trim().split('\n').pop() as string) as TorchTimes;
  if (!times.blas.includes('openblas')) {
    process.stderr.write(`warning: torch runs on ${times.blas}, not OpenBLAS: its times are several times too slow; apt-get install libopenblas0-pthread\n`);
  }
  return times;
}

interface TorchTimes {
  blas: string;
  torch: string;
  torchvision: string;
  threads: number;
  ms: Record<string, number[]>;
}

function hasTorchvision(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torchvision'], { stdio: 'ignore' }).status === 0;
}

/** Peak resident memory while `work` runs, sampled every 20 ms. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peakMb: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

interface Row {
  backend: string;
  minSize: number;
  total: number;
  stages: StageTimings;
  detections: number;
  peakMb: number;
  torch?: number;
  /** The torch thread count `torch` was measured with: the row's own for ONNX, 1 for TF.js (one thread too). */
  torchThreads: number;
}

interface RowRequest {
  backend: BackendName;
  modelDir: string;
  minSize: number;
  threads?: number;
}

type Measured = Pick<Row, 'total' | 'stages' | 'detections' | 'peakMb'>;

/**
 * Each row runs in a fresh process, so its peak RSS is its own: in one process the first backend's heap and arenas
 * would stay in every later row's figure.
 */
function measureInChild(request: RowRequest): Measured {
  const out = execFileSync(process.execPath, [__filename, '--row', JSON.stringify(request)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() as string) as Measured;
}

async function measureRow(request: RowRequest): Promise<Measured> {
  const spec = BACKEND_SPECS[request.backend];
  await selectBackend({ backend: request.backend });
  const image = await readStillImage(IMAGE);
  const { config, tensors } = loadModelDirectory(request.modelDir);
  config.transform.minSize = request.minSize;
  const model: Detector =
    spec.engine === 'onnx'
      ? await OnnxMaskRCNN.create(config, tensors, loadOnnxRuntime(), { provider: spec.provider, ...(request.threads !== undefined ? { threads: request.threads } : {}) })
      : new MaskRCNN(config, tensors);
  const totals: number[] = [];
  const stageRuns: StageTimings[] = [];
  let detections = 0;
  const { peakMb } = await withPeakRss(async () => {
    await model.detect({ ...image, data: new Uint8Array(image.data) });
    for (let run = 0; run < RUNS; run++) {
      const stages: StageTimings = { backbone: 0, rpn: 0, boxHead: 0, maskHead: 0 };
      const started = performance.now();
      detections = (await model.detect({ ...image, data: new Uint8Array(image.data) }, stages)).length;
      totals.push(performance.now() - started);
      stageRuns.push(stages);
    }
  });
  await model.dispose();
  if (spec.engine === 'tfjs' && tf.memory().numTensors > 0) process.stderr.write(`${request.backend}: ${tf.memory().numTensors} tensors left after dispose\n`);
  const stageMedian = (stage: keyof StageTimings): number => median(stageRuns.map((run) => run[stage]));
  return {
    total: median(totals),
    stages: { backbone: stageMedian('backbone'), rpn: stageMedian('rpn'), boxHead: stageMedian('boxHead'), maskHead: stageMedian('maskHead') },
    detections,
    peakMb,
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'dashseg-bench-model-'));
  try {
    const checkpoint = join(work, 'maskrcnn_resnet50_fpn_random.pt');
    const torchByThreads = new Map<number, TorchTimes>();
    if (hasTorchvision()) {
      process.stderr.write('torchvision: building the seeded model and timing it...\n');
      for (const threads of THREADS) torchByThreads.set(threads, torchvisionTimes(checkpoint, threads));
    } else {
      throw new Error(`${PYTHON} has no torchvision: install python3-torchvision and libopenblas0-pthread (Debian) to produce the weights and the reference times`);
    }
    const modelDir = join(work, 'model');
    convertCheckpoint(checkpoint, { out: modelDir, labels: 'coco' });
    const rows: Row[] = [];
    const available: BackendName[] = [];
    const torchTimes = torchByThreads.get(THREADS[THREADS.length - 1] as number);
    for (const backend of BACKEND_ORDER) {
      // The cpu backend needs minutes per image at these sizes: it is the last resort, not a contender.
      if (backend === 'cpu' || (ONLY !== undefined && !ONLY.includes(backend))) continue;
      try {
        const choice = await selectBackend({ backend });
        process.stderr.write(`${describeBackend(choice)}\n`);
        available.push(backend);
      } catch {
        continue;
      }
      const spec = BACKEND_SPECS[backend];
      for (const [minSize, threads] of MIN_SIZES.flatMap((size) => (spec.engine === 'onnx' ? THREADS : [undefined]).map((t) => [size, t] as const))) {
        const measured = measureInChild({ backend, modelDir, minSize, ...(threads !== undefined ? { threads } : {}) });
        const torchMs = torchByThreads.get(threads ?? 1)?.ms[String(minSize)];
        rows.push({
          ...measured,
          backend: threads !== undefined ? `${backend}, ${threads} thread${threads === 1 ? '' : 's'}` : backend,
          torchThreads: threads ?? 1,
          minSize,
          ...(torchMs ? { torch: median(torchMs) } : {}),
        });
        process.stderr.write(`${backend} min ${minSize}${threads !== undefined ? ` x${threads}` : ''}: ${measured.total.toFixed(0)} ms, ${measured.detections} detections, peak RSS ${measured.peakMb.toFixed(0)} MB\n`);
      }
    }
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    const table = rows
      .map((r) => `| ${r.backend} | ${r.minSize} | ${seconds(r.total)} | ${seconds(r.stages.backbone)} | ${seconds(r.stages.rpn)} | ${seconds(r.stages.boxHead)} | ${seconds(r.stages.maskHead)} | ${r.detections} | ${r.peakMb.toFixed(0)} MB | ${r.torch !== undefined ? `${seconds(r.torch)} at ${r.torchThreads} (${(r.total / r.torch).toFixed(2)}x)` : '-'} |`)
      .join('\n');
    writeSection(
      'model',
      `## Mask R-CNN ResNet-50-FPN per image (\`npm run bench:model\`)

One 540x960 dashcam photo (solidWhiteRight.jpg), batch of one, median of ${RUNS} runs after a warm-up. Weights:
torchvision's seeded random initialisation of \`maskrcnn_resnet50_fpn\` (no pretrained weights can be downloaded
here), converted with \`dashseg weights convert\`; random weights make the heads work at their maximum (1000
proposals, 100 detections and masks), so these are upper bounds for real weights. Backends measured: ${available.join(', ')}
(the cpu backend is skipped: minutes per image). torchvision ${torchTimes?.torchvision ?? '-'} / torch ${torchTimes?.torch ?? '-'} on
CPU (BLAS: ${torchTimes?.blas ?? '-'}), same weights, same image, same sizes (max size 1333), at the row's thread count (1 for TF.js, whose wasm
backend has one thread; ${torchTimes?.threads ?? '-'} is torch's default here). ONNX rows include writing the graphs only in
the warm-up. Each row runs in its own process, so its peak RSS is its own.

Machine: ${machineLine()}.

| backend | min size | total | backbone + FPN + RPN head | RPN | box head | mask head + paste | detections | peak RSS | torchvision at threads (ratio) |
|---|---|---|---|---|---|---|---|---|---|
${table}`,
    );
    process.stdout.write(`${table}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const rowFlag = process.argv.indexOf('--row');
(rowFlag >= 0 ? measureRow(JSON.parse(process.argv[rowFlag + 1] as string) as RowRequest).then((row) => void process.stdout.write(`${JSON.stringify(row)}\n`)) : main()).catch((error: unknown) => {
  process.stderr.write(`bench:model failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
