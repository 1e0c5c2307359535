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
 * Live latency percentiles (`dashseg stream`) are a separate measurement with their own section, `pipeline-live`,
 * written by its own function here once that command exists; nothing in this file writes that section.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Observable, lastValueFrom, tap } from 'rxjs';
import { annotate, hudLines, poolSizeFor, startWorkers } from '../../pipelines/annotate';
import type { ModelRunOptions } from '../../src/settings/model-selection';
import { convertCheckpoint } from '../../src/model/model-dir';
import { frameRecord, JsonLinesWriter } from '../../src/output/jsonl';
import type { AnnotatedFrame, FrameInstance } from '../../src/track/annotated-frame';
import type { InferencePool } from '../../src/infer/pool';
import { PipelineStats } from '../../src/stats/pipeline-stats';
import { packageRoot } from '../../src/paths';
import { HudPainter } from '../../src/render/hud';
import { drawableInstance, InstancePainter } from '../../src/render/instances';
import type { BinaryMask } from '../../src/track/mask-iou';
import { MaskTracker, type TrackDetection } from '../../src/track/tracker';
import { binaryVersion, resolveBinary } from '../../src/video/binaries';
import { i420ToRgb } from '../../src/video/color';
import { decode, type DecodedFrame } from '../../src/video/decode';
import { encodeVideo } from '../../src/video/encode';
import { pooledFrame, type Frame } from '../../src/video/frame';
import { probe, type VideoInfo } from '../../src/video/probe';
import { machineLine, median, writeSection } from './report';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PYTHON = '/usr/bin/python3';
const SAMPLE = join(packageRoot(), '..', 'shared', 'data', 'udacity-lanelines', 'solidWhiteRight.mp4');
const TINY_CHECKPOINT = join(packageRoot(), 'test', 'fixtures', 'maskrcnn', 'tiny.pt');
const TINY_LABELS = join(packageRoot(), 'test', 'fixtures', 'maskrcnn', 'labels.txt');
/** The CLI's defaults for a model with no operating point of its own, as here: `--score 0.5`; x264 `-preset veryfast -crf 23`. */
const SCORE = 0.5;
const PRESET = 'veryfast';
const CRF = 23;
/** Instances per frame in the non-model stage costs, and what the ResNet-18 model is calibrated to detect. */
const INSTANCES = 20;
const COMMAND = 'npm run bench:pipeline';

/** One decoded frame of the clip, its bytes copied out of the decoder's pool. */
interface ClipFrame {
  index: number;
  pts: number;
  data: Uint8Array;
}

interface BenchModel {
  name: string;
  dir: string;
  /** What the table says about it: architecture, sizes, weights. */
  description: string;
  /** Frames per end-to-end run: enough that start-up and drain are small, few enough that a round stays short. */
  frames: number;
}

// ---- CPU accounting: where a run's processor time went ---------------------------------------------------------

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface CpuMark {
  wall: number;
  /** CPU of this process, every thread (main, inference workers, libuv pool, GC), µs. */
  process: number;
  /** CPU of finished child processes (ffmpeg, ffprobe), ms: Node reports only its own. */
  children: number;
  /** CPU of the whole machine, every process, ms. */
  machine: number;
  loop: EventLoopUtilization;
}

/** Milliseconds of CPU (or busy main thread) spent between a mark and now. */
interface CpuSpent {
  wall: number;
  process: number;
  children: number;
  /** Time the main thread's event loop was busy: what the main thread took of a core. */
  main: number;
  /** Cores used on average by processes other than this one and its children: a busy machine skews the figures. */
  others: number;
}

function ticksToMs(ticks: number): number {
  return (ticks * 1000) / CLOCK_TICKS;
}

function childrenCpuMs(): number {
  // Fields after the command name's closing parenthesis start at field 3; cutime and cstime are fields 16 and 17.
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ticksToMs(Number(fields[13]) + Number(fields[14]));
}

function machineCpuMs(): number {
  // cpu user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
  const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return ticksToMs(total - (ticks[3] ?? 0) - (ticks[4] ?? 0));
}

function cpuMark(): CpuMark {
  const usage = process.cpuUsage();
  return { wall: performance.now(), process: usage.user + usage.system, children: childrenCpuMs(), machine: machineCpuMs(), loop: performance.eventLoopUtilization() };
}

function cpuSince(mark: CpuMark): CpuSpent {
  const usage = process.cpuUsage();
  const wall = performance.now() - mark.wall;
  const processMs = (usage.user + usage.system - mark.process) / 1000;
  const children = childrenCpuMs() - mark.children;
  return {
    wall,
    process: processMs,
    children,
    main: performance.eventLoopUtilization(mark.loop).active,
    others: Math.max(0, machineCpuMs() - mark.machine - processMs - children) / wall,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A killed decoder is reaped a moment after the stream ends; its CPU only counts once it has been. */
const reaped = (): Promise<void> => sleep(200);

/** Other processes may use this much of a core while a run starts (this machine is shared with other work). */
const QUIET_CORES = 0.15;
/** Longest wait for a quiet machine before one run, and over the whole benchmark: it must end in ~10 minutes. */
const QUIET_WAIT_MS = 15_000;
let quietBudgetMs = 60_000;

/**
 * Waits for half a second in which other processes use less than QUIET_CORES, so that a run does not start while
 * another job holds a core. Whatever load comes during the run is reported with its figures.
 */
async function quiet(): Promise<void> {
  if (quietBudgetMs <= 0) return;
  const started = performance.now();
  const deadline = started + Math.min(QUIET_WAIT_MS, quietBudgetMs);
  let others = Infinity;
  while (performance.now() < deadline) {
    const mark = cpuMark();
    await sleep(500);
    others = cpuSince(mark).others;
    if (others < QUIET_CORES) break;
  }
  quietBudgetMs -= performance.now() - started;
  if (others >= QUIET_CORES) process.stderr.write(`machine still busy (${others.toFixed(2)} cores used by other processes): measuring anyway\n`);
}

// ---- The clip and the models ------------------------------------------------------------------------------------

/** The clip's frames as the pipeline's decoder produces them (yuv420p), copied so they outlive the decoder. */
async function clipFrames(info: VideoInfo): Promise<ClipFrame[]> {
  const frames: ClipFrame[] = [];
  await lastValueFrom(
    decode(info).pipe(
      tap((frame) => {
        frames.push({ index: frame.index, pts: frame.pts, data: frame.data.slice() });
        frame.release();
      }),
    ),
    { defaultValue: undefined },
  );
  return frames;
}

function hasTorchvision(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torchvision'], { stdio: 'ignore' }).status === 0;
}

interface Resnet18Build {
  model: BenchModel;
  versions: string;
  carBias: number;
}

/**
 * The seeded ResNet-18-FPN Mask R-CNN (tools/bench/torchvision_resnet18.py), its car score calibrated on the clip's
 * first frame to give about INSTANCES detections at SCORE, converted like a user's checkpoint.
 */
function buildResnet18(work: string, info: VideoInfo, first: ClipFrame): Resnet18Build {
  const rgb = join(work, 'frame0.rgb');
  writeFileSync(rgb, i420ToRgb(first.data, info.width, info.height));
  const checkpoint = join(work, 'maskrcnn_resnet18_fpn.pt');
  const script = join(packageRoot(), 'tools', 'bench', 'torchvision_resnet18.py');
  const sizes = [Math.min(info.width, info.height), Math.max(info.width, info.height)];
  const args = [script, checkpoint, rgb, String(info.width), String(info.height), ...sizes.map(String), String(INSTANCES)];
  const out = JSON.parse(execFileSync(PYTHON, args, { encoding: 'utf8' }).trim().split('\n').pop() as string) as {
    torch: string;
    torchvision: string;
    parameters: number;
    carBias: number;
  };
  const dir = join(work, 'resnet18');
  convertCheckpoint(checkpoint, { out: dir, labels: 'coco', minSize: sizes[0], maxSize: sizes[1] });
  return {
    model: {
      name: 'ResNet-18-FPN',
      dir,
      description: `Mask R-CNN ResNet-18-FPN, ${(out.parameters / 1e6).toFixed(1)} M parameters, input ${info.width}x${info.height} (min ${sizes[0]}, max ${sizes[1]})`,
      frames: 4,
    },
    versions: `torchvision ${out.torchvision} / torch ${out.torch}`,
    carBias: out.carBias,
  };
}

/** The test suite's parity model: tiny, random, and so fast that everything around it weighs the most. */
function buildTiny(work: string): BenchModel {
  const dir = join(work, 'tiny');
  convertCheckpoint(TINY_CHECKPOINT, { out: dir, labels: TINY_LABELS, minSize: 96, maxSize: 160 });
  return { name: 'tiny (test fixture)', dir, description: 'the 83 k-parameter parity model of test/fixtures, input 96x160', frames: 50 };
}

// ---- Efficiency: model only against end to end ------------------------------------------------------------------

interface ModelOnlyRun {
  /** Frames per second of sequential submit round trips. */
  fps: number;
  /** The model's own time per frame in the worker (yuv420p → RGB included), each frame. */
  workerMs: number[];
  detections: number[];
  /** Cores other processes used meanwhile. */
  others: number;
}

interface EndToEndRun {
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

interface EfficiencyRow {
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

async function measureEfficiency(model: BenchModel, info: VideoInfo, frames: readonly ClipFrame[], work: string): Promise<EfficiencyRow> {
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

// ---- Non-model stages with synthetic instances ----------------------------------------------------------------

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32): the same instances on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const CLASSES: readonly [number, string][] = [[3, 'car'], [3, 'car'], [8, 'truck'], [1, 'person']];

/** A filled ellipse's mask, cropped to its bounding box within the frame. */
function ellipseMask(cx: number, cy: number, rx: number, ry: number, width: number, height: number): { box: [number, number, number, number]; mask: BinaryMask } {
  const x0 = Math.max(0, Math.floor(cx - rx));
  const y0 = Math.max(0, Math.floor(cy - ry));
  const x1 = Math.min(width, Math.ceil(cx + rx));
  const y1 = Math.min(height, Math.ceil(cy + ry));
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const dy = (y0 + y + 0.5 - cy) / ry;
    for (let x = 0; x < w; x++) {
      const dx = (x0 + x + 0.5 - cx) / rx;
      if (dx * dx + dy * dy <= 1) data[y * w + x] = 1;
    }
  }
  return { box: [x0, y0, x1, y1], mask: { x: x0, y: y0, width: w, height: h, data } };
}

/**
 * INSTANCES objects per frame: ellipses 60 to 150 px across, each moving a few pixels a frame and bouncing off the
 * frame's edges, so the tracker matches every one of them from frame to frame as it would real cars.
 */
function syntheticDetections(frameCount: number, width: number, height: number): TrackDetection[][] {
  const next = random(20);
  const objects = Array.from({ length: INSTANCES }, (_, k) => {
    const rx = 30 + next() * 45;
    const ry = 30 + next() * 45;
    const [classId, label] = CLASSES[k % CLASSES.length] as [number, string];
    return { rx, ry, cx: rx + next() * (width - 2 * rx), cy: ry + next() * (height - 2 * ry), vx: (next() - 0.5) * 8, vy: (next() - 0.5) * 4, score: 0.5 + next() * 0.49, classId, label };
  });
  const frames: TrackDetection[][] = [];
  for (let f = 0; f < frameCount; f++) {
    frames.push(objects.map((o) => ({ ...ellipseMask(o.cx, o.cy, o.rx, o.ry, width, height), score: o.score, classId: o.classId, label: o.label })));
    for (const o of objects) {
      if (o.cx + o.vx < o.rx || o.cx + o.vx > width - o.rx) o.vx = -o.vx;
      if (o.cy + o.vy < o.ry || o.cy + o.vy > height - o.ry) o.vy = -o.vy;
      o.cx += o.vx;
      o.cy += o.vy;
    }
  }
  return frames;
}

/** The clip's frames as the pipeline's stages see them, with each frame's instances as the tracker reports them. */
function annotatedFrames(info: VideoInfo, frames: readonly ClipFrame[], detections: readonly TrackDetection[][]): AnnotatedFrame[] {
  return frames.map((clip, f) => {
    const frame: DecodedFrame = pooledFrame({ index: clip.index, pts: clip.pts, width: info.width, height: info.height, format: 'yuv420p', decodedAt: 0 }, clip.data, () => undefined);
    const instances: FrameInstance[] = (detections[f] ?? []).map((d, k) => ({ ...d, id: k + 1, velocity: [2 * info.fps, info.fps] }));
    return { frame, inferred: true, instances };
  });
}

interface StageRow {
  stage: string;
  what: string;
  /** Per frame: wall time, main thread busy, ffmpeg CPU. */
  wallMs: number;
  mainMs: number;
  ffmpegMs: number;
}

async function timeDecode(info: VideoInfo): Promise<CpuSpent & { frames: number }> {
  let frames = 0;
  const mark = cpuMark();
  await lastValueFrom(
    decode(info, { poolSize: poolSizeFor(info, 64) }).pipe(
      tap((frame) => {
        frames++;
        frame.release();
      }),
    ),
    { defaultValue: undefined },
  );
  await reaped();
  return { ...cpuSince(mark), frames };
}

/** Frames handed to `encodeVideo` no faster than it gives them back, as the decoder's pool paces them in annotate. */
function pacedFrames(items: readonly AnnotatedFrame[], inFlight: number): Observable<{ frame: Frame }> {
  return new Observable((subscriber) => {
    let next = 0;
    let out = 0;
    let pumping = false;
    const pump = (): void => {
      if (pumping) return;
      pumping = true;
      while (out < inFlight && next < items.length && !subscriber.closed) {
        const { frame } = items[next++] as AnnotatedFrame;
        let released = false;
        out++;
        subscriber.next({
          frame: {
            ...frame,
            data: frame.data,
            release: () => {
              if (released) return;
              released = true;
              out--;
              pump();
            },
          },
        });
      }
      pumping = false;
      if (next === items.length) subscriber.complete();
    };
    pump();
  });
}

async function timeEncode(info: VideoInfo, items: readonly AnnotatedFrame[], work: string): Promise<CpuSpent> {
  const mark = cpuMark();
  await lastValueFrom(
    pacedFrames(items, poolSizeFor(info, 64)).pipe(
      encodeVideo({ output: join(work, 'encode.mp4'), width: info.width, height: info.height, fps: info.fps, preset: PRESET, crf: CRF, overwrite: true }),
      tap((item) => item.frame.release()),
    ),
    { defaultValue: undefined },
  );
  await reaped();
  return cpuSince(mark);
}

/** The tracker on INSTANCES detections a frame, every frame inferred; also how many it reports on the last frame. */
function timeTrack(info: VideoInfo, detections: readonly TrackDetection[][]): { ms: number; reported: number } {
  const tracker = new MaskTracker();
  let reported = 0;
  const started = performance.now();
  detections.forEach((frame, index) => {
    reported = tracker.update({ index, pts: index / info.fps, width: info.width, height: info.height, inferred: true, detections: frame }).length;
  });
  return { ms: performance.now() - started, reported };
}

/** Masks, boxes and captions, then the HUD, drawn in place on the yuv420p frames as annotate draws them. */
function timeRender(items: readonly AnnotatedFrame[]): number {
  const painter = new InstancePainter();
  const hud = new HudPainter();
  const stats = new PipelineStats();
  const started = performance.now();
  for (const item of items) {
    painter.paint(item.frame, item.instances.map((i) => drawableInstance(i)), 'yuv420p');
    hud.paint(item.frame, hudLines(item, 0, stats, { model: true, latency: false }));
  }
  return performance.now() - started;
}

/** Each frame's JSON line (masks as COCO RLE), serialized and written to a file as annotate's JSON writer does. */
function timeJson(items: readonly AnnotatedFrame[], work: string): number {
  const writer = new JsonLinesWriter(join(work, 'stages.jsonl'));
  const started = performance.now();
  for (const item of items) writer.write(frameRecord(item, SAMPLE));
  const elapsed = performance.now() - started;
  writer.close();
  return elapsed;
}

async function measureStages(info: VideoInfo, frames: readonly ClipFrame[], work: string): Promise<StageRow[]> {
  const detections = syntheticDetections(frames.length, info.width, info.height);
  const items = annotatedFrames(info, frames, detections);
  const n = frames.length;
  const runs = { decode: [] as (CpuSpent & { frames: number })[], track: [] as number[], render: [] as number[], encode: [] as CpuSpent[], json: [] as number[] };
  let tracked = 0;
  for (let round = 0; round < RUNS; round++) {
    runs.decode.push(await timeDecode(info));
    const track = timeTrack(info, detections);
    runs.track.push(track.ms);
    tracked = track.reported;
    runs.render.push(timeRender(items));
    // After the painter, so x264 encodes frames with instances drawn on them, as in the pipeline.
    runs.encode.push(await timeEncode(info, items, work));
    runs.json.push(timeJson(items, work));
  }
  const external = (spent: readonly CpuSpent[], frameCounts: readonly number[]): Pick<StageRow, 'wallMs' | 'mainMs' | 'ffmpegMs'> => ({
    wallMs: median(spent.map((s, i) => s.wall / (frameCounts[i] as number))),
    mainMs: median(spent.map((s, i) => s.main / (frameCounts[i] as number))),
    ffmpegMs: median(spent.map((s, i) => s.children / (frameCounts[i] as number))),
  });
  const inProcess = (ms: readonly number[]): Pick<StageRow, 'wallMs' | 'mainMs' | 'ffmpegMs'> => {
    const perFrame = median([...ms]) / n;
    return { wallMs: perFrame, mainMs: perFrame, ffmpegMs: 0 };
  };
  return [
    { stage: 'decode', what: 'ffmpeg H.264 → yuv420p over a socket into pooled buffers', ...external(runs.decode, runs.decode.map((d) => d.frames)) },
    { stage: 'track', what: `MaskTracker.update, ${INSTANCES} detections a frame (${tracked} tracked at the end)`, ...inProcess(runs.track) },
    { stage: 'render', what: `${INSTANCES} masks + boxes + captions, then the HUD, on yuv420p`, ...inProcess(runs.render) },
    { stage: 'encode', what: `encodeVideo: Matroska pipe → x264 ${PRESET} crf ${CRF} → mp4`, ...external(runs.encode, runs.encode.map(() => n)) },
    { stage: 'JSON', what: `frameRecord + serialize + write, ${INSTANCES} RLE masks`, ...inProcess(runs.json) },
  ];
}

// ---- Report -----------------------------------------------------------------------------------------------------

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const fps = (value: number): string => (value >= 10 ? value.toFixed(1) : value.toFixed(2));
const ratio = (value: number): string => (value >= 10 ? value.toFixed(0) : value.toFixed(2));

function efficiencyTable(rows: readonly EfficiencyRow[]): string {
  const lines = rows.flatMap((r) => {
    const cell = (run: EndToEndRun, target: number): string => {
      const efficiency = run.fps / r.modelOnlyFps;
      return `${fps(run.fps)} | **${efficiency.toFixed(2)}** (target ${target}: ${efficiency >= target ? 'met' : 'not met'})`;
    };
    const breakdown = (run: EndToEndRun): string =>
      `${ms(run.modelMs)} | ${ms(run.mainMs)} | ${ms(run.ffmpegMs)} | ${ms(run.processMs)} | ${run.instances.toFixed(1)} reported | ${run.others.toFixed(2)}`;
    return [
      `| ${r.model.name} | model only, 1 worker | ${fps(r.modelOnlyFps)} | 1 | ${ms(r.workerMs)} | - | - | - | ${median([...r.detections]).toFixed(0)} detected | ${r.modelOnlyOthers.toFixed(2)} |`,
      `| ${r.model.name} | annotate, 1 worker | ${cell(r.one, 0.9)} | ${breakdown(r.one)} |`,
      `| ${r.model.name} | annotate, 2 workers | ${cell(r.two, 1.7)} | ${breakdown(r.two)} |`,
    ];
  });
  return [
    '| model | run | frames/s | efficiency | model ms/frame (in worker) | main thread ms/frame | ffmpeg CPU ms/frame | process CPU ms/frame | instances/frame | other processes (cores) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

function stageTable(rows: readonly StageRow[], models: readonly EfficiencyRow[]): string {
  const sum = (key: 'wallMs' | 'mainMs' | 'ffmpegMs'): number => rows.reduce((total, r) => total + r[key], 0);
  const cpu = sum('mainMs') + sum('ffmpegMs');
  const share = models.map((m) => `${((100 * cpu) / m.workerMs).toFixed(m.workerMs > 1000 ? 1 : 0)}% of ${m.model.name}'s ${ms(m.workerMs)} ms per frame`).join(', ');
  return [
    '| stage | what is timed | wall ms/frame | main thread ms/frame | ffmpeg CPU ms/frame |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.stage} | ${r.what} | ${ms(r.wallMs)} | ${ms(r.mainMs)} | ${r.ffmpegMs > 0 ? ms(r.ffmpegMs) : '-'} |`),
    `| **sum** | | **${ms(sum('wallMs'))}** | **${ms(sum('mainMs'))}** | **${ms(sum('ffmpegMs'))}** |`,
    '',
    `CPU per frame outside the model, main thread + ffmpeg: **${ms(cpu)} ms**: ${share}. With two workers on two cores`,
    `a model of M ms per frame can reach at most 2M / (M + ${ms(cpu)}) of its one-worker rate, so the 1.7 target needs`,
    // 2M / (M + C) >= 1.7  <=>  M >= 1.7 C / 0.3.
    `M >= ${Math.round((1.7 * cpu) / 0.3)} ms at this load, before any slowdown of two inferences running side by side.`,
  ].join('\n');
}

/**
 * What the figures say, computed from them so that the text cannot disagree with the table: the targets, how busy the
 * cores were, the bound that CPU alone puts on two workers, and how much the model slowed down inside the pipeline.
 */
function analysis(rows: readonly EfficiencyRow[]): string {
  const cores = availableParallelism();
  return rows
    .map((r) => {
      const efficiency = (run: EndToEndRun): number => run.fps / r.modelOnlyFps;
      const verdict = (run: EndToEndRun, target: number): string => `${efficiency(run).toFixed(2)} (${efficiency(run) >= target ? 'meets' : 'misses'} ${target})`;
      const busy = (run: EndToEndRun): string => (((run.processMs + run.ffmpegMs) * run.fps) / 1000).toFixed(2);
      const slower = (run: EndToEndRun): string => `${Math.round((run.modelMs / r.workerMs - 1) * 100)}%`;
      // Every frame needs the model's time on some core plus the main thread's and ffmpeg's: with all cores busy
      // and nothing else waiting, that is the most any number of workers can reach.
      const cpuBound = (cores * 1000) / (r.workerMs + r.two.mainMs + r.two.ffmpegMs) / r.modelOnlyFps;
      // Every frame also passes through the one main thread: its time per frame caps the rate whatever the workers.
      const mainFps = 1000 / r.two.mainMs;
      return (
        `- **${r.model.name}**: efficiency ${verdict(r.one, 0.9)} with one worker, ${verdict(r.two, 1.7)} with two; ` +
        `cores busy ${busy(r.one)} (one worker) and ${busy(r.two)} (two) of ${cores}. Per frame, beside the model's ` +
        `${ms(r.workerMs)} ms, the main thread is busy ${ms(r.two.mainMs)} ms and ffmpeg takes ${ms(r.two.ffmpegMs)} ms of CPU: ` +
        `${cores} cores then allow at most ${cpuBound.toFixed(2)}, and the main thread alone at most ` +
        `${ratio(mainFps / r.modelOnlyFps)} (${fps(mainFps)} frames/s). Inference took ${slower(r.one)} (one worker) and ` +
        `${slower(r.two)} (two) longer inside the pipeline than alone.`
      );
    })
    .join('\n');
}

interface Context {
  info: VideoInfo;
  clipFrames: number;
  versions: string | undefined;
  carBias: number | undefined;
  minutes: number;
}

function section(rows: readonly EfficiencyRow[], stages: readonly StageRow[], context: Context): string {
  const models = rows
    .map((r) => `- **${r.model.name}**: ${r.model.description}; ${r.model.frames} frames per end-to-end run; ${r.backend.split(';')[0]}.`)
    .join('\n');
  const calibration =
    context.carBias !== undefined
      ? `The ResNet-18 weights are torchvision's seeded random initialisation (${context.versions}), assembled from
\`resnet_fpn_backbone('resnet18')\` and \`MaskRCNN\`; random weights score every class near 1/91, so the car row of the
classifier is scaled by 4 and its bias set (${context.carBias.toFixed(2)}) to give ${INSTANCES} detections at score
${SCORE} on the clip's first frame (tools/bench/torchvision_resnet18.py): a realistic load on the mask head and on
everything after the model.`
      : 'torchvision is not installed here (python3-torchvision), so only the tiny model was measured.';
  return `## Pipeline efficiency and per-stage cost (\`${COMMAND}\`)

Command: \`${COMMAND}\` (\`BENCH_RUNS=${RUNS}\`: ${context.minutes.toFixed(1)} min after the build). Clip: solidWhiteRight.mp4,
${context.info.width}x${context.info.height}, ${context.info.fps} fps, ${context.clipFrames} frames.

Machine: ${machineLine()}; ${binaryVersion(resolveBinary('ffmpeg')).split(' Copyright')[0]}.

### Efficiency: end-to-end frames/s over model-only frames/s

Model only: the clip's first frames (yuv420p, as decoded) submitted one at a time to a one-worker \`InferencePool\`
(each sent when the previous one is back), frames / total time. End to end: \`annotate()\` on the same frames of the
clip, \`--every 1 --score ${SCORE}\`, x264 \`-preset ${PRESET} -crf ${CRF}\`, HUD, audio copied, mp4 + JSON Lines,
workers started and warmed up beforehand, timed as \`AnnotateSummary.seconds\` (from the decoder's start, after
probing, to the encoder's exit). Efficiency is end-to-end frames/s over the one-worker model-only frames/s, for both
worker counts. The three alternate within each round; median round of ${RUNS}. Per-frame columns: the model's time
inside the workers (yuv420p → RGB included), the main thread's busy time (event-loop utilisation, so start-up work
such as spawning ffmpeg counts too), the ffmpeg children's CPU (decode + encode), this process's CPU over all
threads, and the average number of cores used by other processes during the run (the machine is shared: each run
waits up to ${QUIET_WAIT_MS / 1000} s for a quiet half second before it starts). "Detected" counts the model's
detections at score ${SCORE}; "reported" counts the tracker's confirmed instances (3 hits), which random detections
that jump from frame to frame seldom become.

${models}

${calibration}

${efficiencyTable(rows)}

${analysis(rows)}

### Non-model cost per frame, ${context.info.width}x${context.info.height}, ${INSTANCES} instances

Each stage alone over all ${context.clipFrames} frames of the clip, median of ${RUNS}: ${INSTANCES} synthetic instances a frame
(ellipses 60-150 px across moving a few pixels a frame; all ${INSTANCES} tracked from frame to frame). Decode and encode
run in ffmpeg children: their wall time per frame is a throughput with both cores free, their CPU is what they take from
the inference workers.

${stageTable(stages, rows)}`;
}

function printSummary(rows: readonly EfficiencyRow[], stages: readonly StageRow[]): void {
  const lines = rows.flatMap((r) => [
    `${r.model.name}: model only ${fps(r.modelOnlyFps)} fps (${ms(r.workerMs)} ms in worker, ${median([...r.detections])} detections a frame, ${Math.min(...r.detections)}-${Math.max(...r.detections)})`,
    `  1 worker  ${fps(r.one.fps)} fps  efficiency ${(r.one.fps / r.modelOnlyFps).toFixed(2)} (target 0.9)`,
    `  2 workers ${fps(r.two.fps)} fps  efficiency ${(r.two.fps / r.modelOnlyFps).toFixed(2)} (target 1.7)`,
  ]);
  const stageLines = stages.map((s) => `${s.stage.padEnd(7)} wall ${ms(s.wallMs).padStart(6)} ms/frame  main ${ms(s.mainMs).padStart(6)}  ffmpeg CPU ${ms(s.ffmpegMs).padStart(6)}`);
  process.stdout.write(`${[...lines, '', ...stageLines, '', analysis(rows)].join('\n')}\n`);
}

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
    // A `live` section (latency percentiles of `dashseg stream`) belongs here, written as 'pipeline-live'.
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
