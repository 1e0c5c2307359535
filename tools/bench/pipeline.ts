/**
 * `npm run bench:pipeline`: how much of the model's speed the whole annotate pipeline keeps, and what the stages
 * around the model cost per frame.
 *
 * 1. Pipeline efficiency: end-to-end frames/s of `annotate()` (decode → inference workers → tracker → painter → HUD →
 *    x264 → JSON Lines, the model on every frame) divided by model-only frames/s: the same frames submitted one at a
 *    time to a one-worker `InferencePool` of the same model, same backend, same sizes. Model-only, end to end with
 *    one worker and end to end with two alternate within each round; the workers are started (and warmed up) before
 *    any timing, and each configuration's figure is the median over rounds.
 * 2. Non-model cost per frame at 960x540 with 20 instances: each stage timed on its own over the clip's frames.
 *
 * Live latency percentiles (`dashseg stream`) are `live.ts`'s, in their own section (`pipeline-live`): `npm run
 * bench:pipeline` runs it after this one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { probe } from '../../src/video/probe';
import { clipFrames, SAMPLE, type ClipFrame } from './pipeline-clip';
import { measureEfficiency, type EfficiencyRow } from './pipeline-efficiency';
import { buildResnet18, buildTiny, hasTorchvision, PYTHON, type BenchModel, type Resnet18Build } from './pipeline-models';
import { printSummary, section, type Context } from './pipeline-report';
import { measureStages } from './pipeline-stages';
import { writeSection } from './report';

async function main(): Promise<void> {
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'dashseg-bench-pipeline-'));
  try {
    const info = await probe(SAMPLE);
    const frames = await clipFrames(info);
    const models: BenchModel[] = [];
    let resnet: Resnet18Build | undefined;
    if (hasTorchvision()) {
      process.stderr.write('torchvision: building and calibrating the seeded ResNet-18-FPN Mask R-CNN...\n');
      resnet = buildResnet18(work, info, frames[0] as ClipFrame);
      models.push(resnet.model);
    } else {
      process.stderr.write(`${PYTHON} has no torchvision (apt-get install python3-torchvision libopenblas0-pthread): tiny model only\n`);
    }
    models.push(buildTiny(work));
    const rows: EfficiencyRow[] = [];
    for (const model of models) rows.push(await measureEfficiency(model, info, frames, work));
    process.stderr.write('non-model stages...\n');
    const stages = await measureStages(info, frames, work);
    const context: Context = {
      info,
      clipFrames: frames.length,
      versions: resnet?.versions,
      carBias: resnet?.carBias,
      minutes: (performance.now() - started) / 60_000,
    };
    writeSection('pipeline', section(rows, stages, context));
    printSummary(rows, stages);
    process.stdout.write(`${context.minutes.toFixed(1)} min; written to docs/benchmarks.md\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:pipeline failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
