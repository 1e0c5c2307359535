/**
 * Pipeline efficiency: model-only frames/s against end-to-end `annotate()` frames/s with one and two workers, the
 * three alternating within each round, with where each run's CPU went.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { annotate, startWorkers } from '../../pipelines/annotate';
import type { InferencePool } from '../../src/infer/pool';
import type { ModelRunOptions } from '../../src/settings/model-selection';
import type { VideoInfo } from '../../src/video/probe';
import { cpuMark, cpuSince, quiet, reaped } from './cpu-time';
import { SAMPLE, type ClipFrame } from './pipeline-clip';
import type { BenchModel } from './pipeline-models';
import { CRF, PRESET, RUNS, SCORE } from './pipeline-settings';
import { median } from './report';

interface ModelOnlyRun {
  /** Frames per second of sequential submit round trips. */
  fps: number;
  /** The model's own time per frame in the worker (yuv420p → RGB included), each frame. */
  workerMs: number[];
  detections: number[];
  /** Cores other processes used meanwhile. */
  others: number;
}

export interface EndToEndRun {
  fps: number;
  /** Per frame: model time in the workers, main thread busy, ffmpeg CPU, this process's CPU (all threads). */
  modelMs: number;
  mainMs: number;
  ffmpegMs: number;
  processMs: number;
  instances: number;
  others: number;
}

/**
 * Each frame submitted once the previous one is back: the best a single worker can do, the pipeline's ceiling. The
 * copy that the transfer needs is made before the clock starts.
 */
async function modelOnly(pool: InferencePool, info: VideoInfo, frames: readonly ClipFrame[]): Promise<ModelOnlyRun> {
  let wall = 0;
  const workerMs: number[] = [];
  const detections: number[] = [];
  const mark = cpuMark();
  for (const frame of frames) {
    const image = { width: info.width, height: info.height, format: 'yuv420p' as const, data: frame.data.slice() };
    const started = performance.now();
    const result = await pool.submit(image);
    wall += performance.now() - started;
    workerMs.push(result.milliseconds);
    detections.push(result.detections.length);
  }
  return { fps: (frames.length * 1000) / wall, workerMs, detections, others: cpuSince(mark).others };
}

/** `annotate()` as the CLI runs it (model on every frame, HUD, audio copied, mp4 + JSON Lines) on the first frames. */
async function endToEnd(pool: InferencePool, model: BenchModel, info: VideoInfo, work: string): Promise<EndToEndRun> {
  const run: ModelRunOptions = { dir: model.dir, score: SCORE, every: 1, workers: pool.size };
  let modelMs = 0;
  const mark = cpuMark();
  const summary = await annotate({
    input: SAMPLE,
    output: join(work, 'e2e.mp4'),
    json: join(work, 'e2e.jsonl'),
    duration: model.frames / info.fps,
    preset: PRESET,
    crf: CRF,
    overwrite: true,
    model: run,
    workers: pool,
    onFrame: (item) => (modelMs += item.modelMs ?? 0),
  });
  await reaped();
  const spent = cpuSince(mark);
  if (summary.frames !== model.frames || summary.inferred !== model.frames) {
    throw new Error(`${model.name}: annotate output ${summary.frames} frames, inferred ${summary.inferred}, expected ${model.frames}`);
  }
  const per = (ms: number): number => ms / summary.frames;
  return {
    fps: summary.fps,
    modelMs: per(modelMs),
    mainMs: per(spent.main),
    ffmpegMs: per(spent.children),
    processMs: per(spent.process),
    instances: summary.instances / summary.frames,
    others: spent.others,
  };
}

/** Runs the model once in every worker of the pool: compiling and first allocations are not what is measured. */
async function warmUp(pool: InferencePool, info: VideoInfo, frame: ClipFrame): Promise<void> {
  await Promise.all(
    Array.from({ length: pool.size }, () => pool.submit({ width: info.width, height: info.height, format: 'yuv420p', data: frame.data.slice() })),
  );
}

export interface EfficiencyRow {
  model: BenchModel;
  backend: string;
  modelOnlyFps: number;
  workerMs: number;
  modelOnlyOthers: number;
  detections: number[];
  one: EndToEndRun;
  two: EndToEndRun;
}

/** The run whose fps is the median (with an even count, the lower middle one): its breakdown goes with its fps. */
function medianRun(runs: readonly EndToEndRun[]): EndToEndRun {
  const sorted = [...runs].sort((a, b) => a.fps - b.fps);
  return sorted[Math.floor((sorted.length - 1) / 2)] as EndToEndRun;
}

export async function measureEfficiency(model: BenchModel, info: VideoInfo, frames: readonly ClipFrame[], work: string): Promise<EfficiencyRow> {
  const options: ModelRunOptions = { dir: model.dir, score: SCORE };
  const one = await startWorkers({ ...options, workers: 1 });
  const two = await startWorkers({ ...options, workers: 2 });
  try {
    const first = frames[0] as ClipFrame;
    await warmUp(one, info, first);
    await warmUp(two, info, first);
    const subset = frames.slice(0, model.frames);
    const modelOnlyRuns: ModelOnlyRun[] = [];
    const oneRuns: EndToEndRun[] = [];
    const twoRuns: EndToEndRun[] = [];
    for (let round = 0; round < RUNS; round++) {
      await quiet();
      modelOnlyRuns.push(await modelOnly(one, info, subset));
      await quiet();
      oneRuns.push(await endToEnd(one, model, info, work));
      await quiet();
      twoRuns.push(await endToEnd(two, model, info, work));
      const last = (runs: readonly { fps: number }[]): string => (runs[runs.length - 1] as { fps: number }).fps.toFixed(2);
      process.stderr.write(`${model.name} round ${round + 1}/${RUNS}: model only ${last(modelOnlyRuns)} fps, 1 worker ${last(oneRuns)} fps, 2 workers ${last(twoRuns)} fps\n`);
    }
    return {
      model,
      backend: one.backend,
      modelOnlyFps: median(modelOnlyRuns.map((r) => r.fps)),
      workerMs: median(modelOnlyRuns.flatMap((r) => r.workerMs)),
      modelOnlyOthers: median(modelOnlyRuns.map((r) => r.others)),
      detections: (modelOnlyRuns[0] as ModelOnlyRun).detections,
      one: medianRun(oneRuns),
      two: medianRun(twoRuns),
    };
  } finally {
    await one.close();
    await two.close();
  }
}
