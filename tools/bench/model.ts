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
import { BACKEND_ORDER, describeBackend, selectBackend, type BackendName } from '../../src/model/backend';
import { MaskRCNN, type StageTimings } from '../../src/model/mask-rcnn';
import { readStillImage } from '../../src/video/still-image';
import { convertCheckpoint, loadModelDirectory } from '../../src/model/model-dir';
import { packageRoot } from '../../src/paths';
import { machineLine, median, writeSection } from './report';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MIN_SIZES = [800, 512];
const PYTHON = '/usr/bin/python3';
const IMAGE = join(packageRoot(), '..', 'shared', 'data', 'udacity-lanelines', 'solidWhiteRight.jpg');

interface TorchTimes {
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
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'dashseg-bench-model-'));
  try {
    const checkpoint = join(work, 'maskrcnn_resnet50_fpn_random.pt');
    let torchTimes: TorchTimes | undefined;
    if (hasTorchvision()) {
      process.stderr.write('torchvision: building the seeded model and timing it...\n');
      const out = execFileSync(PYTHON, [join(packageRoot(), 'tools', 'bench', 'torchvision_model.py'), checkpoint, IMAGE, String(RUNS), ...MIN_SIZES.map(String)], { encoding: 'utf8', maxBuffer: 1 << 20 });
      torchTimes = JSON.parse(out.trim().split('\n').pop() as string) as TorchTimes;
    } else {
      throw new Error(`${PYTHON} has no torchvision: install python3-torchvision and libopenblas0-pthread (Debian) to produce the weights and the reference times`);
    }
    const modelDir = join(work, 'model');
    convertCheckpoint(checkpoint, { out: modelDir, labels: 'coco' });
    const image = await readStillImage(IMAGE);
    const rows: Row[] = [];
    const available: BackendName[] = [];
    for (const backend of BACKEND_ORDER) {
      // The cpu backend needs minutes per image at these sizes: it is the last resort, not a contender.
      if (backend === 'cpu') continue;
      try {
        const choice = await selectBackend({ backend });
        process.stderr.write(`${describeBackend(choice)}\n`);
        available.push(backend);
      } catch {
        continue;
      }
      for (const minSize of MIN_SIZES) {
        const { config, tensors } = loadModelDirectory(modelDir);
        config.transform.minSize = minSize;
        const model = new MaskRCNN(config, tensors);
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
        model.dispose();
        const stageMedian = (stage: keyof StageTimings): number => median(stageRuns.map((run) => run[stage]));
        const torchMs = torchTimes?.ms[String(minSize)];
        rows.push({
          backend,
          minSize,
          total: median(totals),
          stages: { backbone: stageMedian('backbone'), rpn: stageMedian('rpn'), boxHead: stageMedian('boxHead'), maskHead: stageMedian('maskHead') },
          detections,
          peakMb,
          ...(torchMs ? { torch: median(torchMs) } : {}),
        });
        process.stderr.write(`${backend} min ${minSize}: ${median(totals).toFixed(0)} ms, ${detections} detections, tensors left ${tf.memory().numTensors}\n`);
      }
    }
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    const table = rows
      .map((r) => `| ${r.backend} | ${r.minSize} | ${seconds(r.total)} | ${seconds(r.stages.backbone)} | ${seconds(r.stages.rpn)} | ${seconds(r.stages.boxHead)} | ${seconds(r.stages.maskHead)} | ${r.detections} | ${r.peakMb.toFixed(0)} MB | ${r.torch !== undefined ? `${seconds(r.torch)} (${(r.total / r.torch).toFixed(1)}x)` : '-'} |`)
      .join('\n');
    writeSection(
      'model',
      `## Mask R-CNN ResNet-50-FPN per image (\`npm run bench:model\`)

One 540x960 dashcam photo (solidWhiteRight.jpg), batch of one, median of ${RUNS} runs after a warm-up. Weights:
torchvision's seeded random initialisation of \`maskrcnn_resnet50_fpn\` (no pretrained weights can be downloaded
here), converted with \`dashseg weights convert\`; random weights make the heads work at their maximum (1000
proposals, 100 detections and masks), so these are upper bounds for real weights. Backends measured: ${available.join(', ')}
(the cpu backend is skipped: minutes per image). torchvision ${torchTimes?.torchvision ?? '-'} / torch ${torchTimes?.torch ?? '-'} on
CPU with ${torchTimes?.threads ?? '-'} thread(s), same weights, same image, same sizes (max size 1333).

Machine: ${machineLine()}.

| backend | min size | total | backbone + FPN | RPN | box head | mask head + paste | detections | peak RSS | torchvision (ratio) |
|---|---|---|---|---|---|---|---|---|---|
${table}`,
    );
    process.stdout.write(`${table}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:model failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
