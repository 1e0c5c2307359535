import { NEVER, identity, map, takeUntil, type Observable, type OperatorFunction } from 'rxjs';
import { InferencePool } from '../src/infer/pool';
import type { Workload } from '../src/infer/split';
import { frameSelector, inferFrames } from '../src/infer/schedule';
import { classIdsFor, readModelConfig } from '../src/model/model-dir';
import { writeJsonLines } from '../src/output/jsonl';
import { formatTimestamp, renderHud } from '../src/render/hud';
import { renderInstances, type InstanceStyle } from '../src/render/instances';
import type { ModelRunOptions } from '../src/settings/model-selection';
import { PipelineStats } from '../src/stats/pipeline-stats';
import { unannotated, type AnnotatedFrame } from '../src/track/annotated-frame';
import { trackFrames, type TrackFramesOptions } from '../src/track/track-frames';
import { DEFAULT_POOL_SIZE, decode, type DecodedFrame } from '../src/video/decode';
import { checkOutputPath, encodeVideo, type X264Preset } from '../src/video/encode';
import { frameByteLength } from '../src/video/frame';
import { probe, type VideoInfo } from '../src/video/probe';
import { runToEnd, type RunTotals } from './run';

export interface AnnotateOptions {
  input: string;
  /** Annotated video: an mp4/mkv/mov path or a stream URL. */
  output?: string;
  /** Per-frame JSON Lines: a path or '-' for stdout. */
  json?: string;
  /** Seconds into the input to begin at, and how many seconds to process. */
  start?: number;
  duration?: number;
  preset?: X264Preset;
  crf?: number;
  /** Draw frame number, time and throughput in the corner. */
  hud?: boolean;
  /** Copy the source's audio into the output video (default true). */
  audio?: boolean;
  overwrite?: boolean;
  /** Memory for decoded frames in flight; bounds the process whatever the input's length. */
  bufferMegabytes?: number;
  /** Add `latencyMs` to each JSON line. */
  latency?: boolean;
  /** When this emits, decoding stops and every output is finished with the frames done so far. */
  stop?: Observable<unknown>;
  /** Segment with this model; without it frames pass through with no instances (`--model none`). */
  model?: ModelRunOptions;
  /**
   * Workers already running the model (`startWorkers(model)`), to share them between videos; the caller closes
   * them. By default `annotate` starts its own and closes them when done.
   */
  workers?: InferencePool;
  style?: Readonly<InstanceStyle>;
  /** Called once the model is loaded in its workers: the backend in use and why, and how many workers. */
  onModel?: (backend: string, workers: number) => void;
  /** Called once the input is probed, before any frame is decoded. */
  onStart?: (info: VideoInfo, expectedFrames: number | undefined, stats: PipelineStats) => void;
  /** Called after each frame has gone through every output. */
  onFrame?: (item: AnnotatedFrame, stats: PipelineStats) => void;
}

export interface AnnotateSummary extends RunTotals {
  info: VideoInfo;
}

/** How many frames a run will produce, when the container says how many it has. */
export function expectedFrameCount(info: VideoInfo, start = 0, duration?: number): number | undefined {
  const available = info.frameCount ?? (info.duration !== undefined ? Math.round(info.duration * info.fps) : undefined);
  if (available === undefined) return undefined;
  const skipped = Math.round(start * info.fps);
  const remaining = Math.max(0, available - skipped);
  return duration === undefined ? remaining : Math.min(remaining, Math.round(duration * info.fps));
}

/** Seconds of source audio that belong with the frames asked for: the trim, or the rest of the source. */
function audioDuration(info: VideoInfo, start: number, duration: number | undefined): number | undefined {
  if (duration !== undefined) return duration;
  return info.duration !== undefined ? Math.max(0, info.duration - start) : undefined;
}

/** Frames in flight that fit in the decode buffer: at least a few, so every stage has one to work on. */
export function poolSizeFor(info: VideoInfo, bufferMegabytes: number): number {
  return Math.max(4, Math.min(256, Math.floor((bufferMegabytes * 2 ** 20) / frameByteLength(info.width, info.height, 'yuv420p'))));
}

/** How frames reach the model: every selected one, waiting for a worker (files), or the newest (live sources). */
export interface SegmentSchedule {
  mode: 'file' | 'live';
  /** `live`: frames older than this are not started. */
  maxLatencyMs?: number;
  /** `file`: the decoder's buffers; the tracker holds back at most half of them (see `ModelRunOptions.backfill`). */
  bufferFrames?: number;
}

/** The model stage: frames to the workers as the selection says, then tracked; without a model, frames as they are. */
export function segmentFrames<F extends DecodedFrame>(
  workers: InferencePool | undefined,
  model: ModelRunOptions | undefined,
  schedule: SegmentSchedule = { mode: 'file' },
): OperatorFunction<F, AnnotatedFrame<F>> {
  if (!workers || !model) return map((frame) => unannotated(frame));
  return (source) =>
    source.pipe(
      inferFrames<F>({
        workers,
        mode: schedule.mode,
        ...(schedule.maxLatencyMs !== undefined ? { maxLatencyMs: schedule.maxLatencyMs } : {}),
        select: frameSelector({ ...(model.every !== undefined ? { every: model.every } : {}), ...(model.maxFps !== undefined ? { maxFps: model.maxFps } : {}) }),
      }),
      trackFrames<F>(model.tracker, backfillOptions(model, schedule)),
    );
}

function backfillOptions(model: ModelRunOptions, schedule: SegmentSchedule): TrackFramesOptions {
  if (!model.backfill || schedule.mode !== 'file') return {};
  return { backfill: { maxHeld: Math.max(1, Math.floor((schedule.bufferFrames ?? DEFAULT_POOL_SIZE) / 2)) } };
}

/** The HUD's lines: where in the video, and how the pipeline keeps up. */
export function hudLines(item: AnnotatedFrame, origin: number, stats: PipelineStats, show: { model: boolean; latency: boolean }): string[] {
  const where = `frame ${item.frame.index}  ${formatTimestamp(item.frame.pts - origin)}`;
  if (!show.model) return [`${where}  ${stats.output.fps.toFixed(1)} fps`];
  // A file is decoded ahead of the model on purpose, so its frames' age says nothing; a live source's does.
  const latency = show.latency && Number.isFinite(stats.latencyMs) ? `  latency ${Math.round(stats.latencyMs)} ms` : '';
  return [
    where,
    `video ${stats.output.fps.toFixed(1)} fps  model ${stats.modelFps.toFixed(1)} fps`,
    `inferred ${Math.round(stats.inferredShare * 100)}%${latency}  objects ${item.instances.length}`,
  ];
}

/**
 * decode → model (scheduled, tracked) → instances → HUD → encode → JSON Lines. Each output stage passes a frame on
 * once it has written it, so the frames in the JSON are always frames in the video, even after an interruption.
 */
export function annotateFrames(
  info: VideoInfo,
  options: AnnotateOptions,
  stats: PipelineStats,
  workers?: InferencePool,
): Observable<AnnotatedFrame> {
  const start = options.start ?? 0;
  const poolSize = poolSizeFor(info, options.bufferMegabytes ?? 64);
  const frames = decode(info, {
    start,
    ...(options.duration !== undefined ? { duration: options.duration } : {}),
    poolSize,
  });
  const audioSeconds = audioDuration(info, start, options.duration);
  const withModel = workers !== undefined;
  return frames.pipe(
    takeUntil(options.stop ?? NEVER),
    segmentFrames<DecodedFrame>(workers, options.model, { mode: 'file', bufferFrames: poolSize }),
    // Drawing is for the video: a JSON-only run does not pay for it.
    withModel && options.output !== undefined ? renderInstances<AnnotatedFrame>(options.style) : identity,
    options.hud === false || options.output === undefined ? identity : renderHud<AnnotatedFrame>((item) => hudLines(item, info.startTime, stats, { model: withModel, latency: false })),
    options.output === undefined
      ? identity
      : encodeVideo<AnnotatedFrame>({
          output: options.output,
          width: info.width,
          height: info.height,
          fps: info.fps,
          ...(info.variableFrameRate ? { variableTimeBase: info.timeBase } : {}),
          origin: info.startTime + start,
          ...(options.preset !== undefined ? { preset: options.preset } : {}),
          ...(options.crf !== undefined ? { crf: options.crf } : {}),
          ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
          ...(info.hasAudio && options.audio !== false
            ? {
                audio: {
                  source: info.source,
                  ...(info.audioCodec !== undefined ? { codec: info.audioCodec } : {}),
                  start,
                  ...(audioSeconds !== undefined ? { duration: audioSeconds } : {}),
                },
              }
            : {}),
        }),
    options.json === undefined
      ? identity
      : writeJsonLines({ target: options.json, source: options.input, latency: options.latency ?? false }),
  );
}

/**
 * Loads the model into its workers, checking the class filter against its labels first. `use` picks the default
 * split of cores into workers and threads: throughput for files, latency for live sources.
 */
export async function startWorkers(model: ModelRunOptions, use: Workload = 'frames'): Promise<InferencePool> {
  const labels = readModelConfig(model.dir).labels;
  const classIds = model.classes !== undefined && model.classes.length > 0 ? classIdsFor(labels, model.classes) : undefined;
  return InferencePool.start({
    modelDir: model.dir,
    backend: model.backend ?? 'auto',
    use,
    ...(model.workers !== undefined ? { workers: model.workers } : {}),
    ...(model.threads !== undefined ? { threads: model.threads } : {}),
    ...(model.minSize !== undefined ? { minSize: model.minSize } : {}),
    ...(model.maxSize !== undefined ? { maxSize: model.maxSize } : {}),
    detect: { ...(model.score !== undefined ? { minScore: model.score } : {}), ...(classIds ? { classIds } : {}) },
  });
}

export async function annotate(options: AnnotateOptions): Promise<AnnotateSummary> {
  if (options.output !== undefined) checkOutputPath(options.output, options.overwrite ?? true);
  if (options.json !== undefined && options.json !== '-') checkOutputPath(options.json, true);
  const info = await probe(options.input);
  const ownWorkers = options.model !== undefined && options.workers === undefined;
  const workers = options.workers ?? (options.model ? await startWorkers(options.model) : undefined);
  try {
    if (workers) options.onModel?.(workers.backend, workers.size);
    const stats = new PipelineStats();
    options.onStart?.(info, expectedFrameCount(info, options.start, options.duration), stats);
    const totals = await runToEnd(annotateFrames(info, options, stats, workers), stats, {
      ...(options.stop ? { stop: options.stop } : {}),
      ...(options.onFrame ? { onFrame: options.onFrame } : {}),
    });
    return { info, ...totals };
  } finally {
    if (ownWorkers) await workers?.close();
  }
}
