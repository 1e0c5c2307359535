import { NEVER, identity, map, takeUntil, type Observable } from 'rxjs';
import type { InferencePool } from '../src/infer/pool';
import { writeJsonLines } from '../src/output/jsonl';
import { renderHud } from '../src/render/hud';
import { renderInstances, type InstanceStyle } from '../src/render/instances';
import type { ModelRunOptions } from '../src/settings/model-selection';
import { PipelineStats } from '../src/stats/pipeline-stats';
import type { AnnotatedFrame } from '../src/track/annotated-frame';
import { checkOutputPath, encodeVideo, type X264Preset } from '../src/video/encode';
import { liveFrames, type LiveEvent, type LiveFrame, type LiveSourceOptions } from '../src/video/live';
import { isUrl } from '../src/video/probe';
import { hudLines, segmentFrames, startWorkers } from './annotate';
import { runToEnd, type RunTotals } from './run';
import { whenFirst } from './when-first';

export interface StreamOptions {
  /** A capture device (/dev/video0), a stream URL (rtsp, udp, tcp, http, …), a FIFO, or '-' for stdin. */
  source: string;
  /** Annotated video: a file (finalized on stop) or a stream URL. */
  output?: string;
  /** Per-frame JSON Lines: a path or '-' for stdout. */
  json?: string;
  model?: ModelRunOptions;
  /** Workers already running the model, to share; the caller closes them. */
  workers?: InferencePool;
  /** A frame older than this (ms since decode) is not given to the model. */
  maxLatencyMs?: number;
  /** How the source is opened and reopened (see `LiveSourceOptions`). */
  live?: Omit<LiveSourceOptions, 'onEvent' | 'poolSize' | 'bufferBytes'>;
  /** Memory for decoded frames in flight. */
  bufferMegabytes?: number;
  hud?: boolean;
  style?: Readonly<InstanceStyle>;
  preset?: X264Preset;
  crf?: number;
  overwrite?: boolean;
  /** Add `latencyMs` to each JSON line (default true: a planner wants to know how old a result is). */
  latency?: boolean;
  /** When this emits, reading stops and every output is finished with the frames done so far. */
  stop?: Observable<unknown>;
  onModel?: (backend: string, workers: number) => void;
  onEvent?: (event: LiveEvent) => void;
  onFrame?: (item: AnnotatedFrame<LiveFrame>, stats: PipelineStats) => void;
}

export interface StreamSummary extends RunTotals {
  /** Frames the decoder discarded because every buffer was held downstream. */
  dropped: number;
  /** Times the source was opened again after it dropped. */
  reconnects: number;
  latencyP50: number;
  latencyP95: number;
}

/**
 * A live source → model (newest frame first, never waiting) → tracker → instances → HUD → encode → JSON Lines.
 * Nothing about the source is known before its first frame (no probing a live stream), so the encoder is set up
 * from that frame; its timestamps are kept as they come (variable rate), so gaps in the source stay gaps.
 */
export function streamFrames(options: StreamOptions, stats: PipelineStats, workers?: InferencePool): Observable<AnnotatedFrame<LiveFrame>> {
  const withModel = workers !== undefined;
  // The nominal rate the source reports when it opens; it only labels the output, each frame keeps its own time.
  let fps = 25;
  const frames = liveFrames(options.source, {
    ...options.live,
    bufferBytes: (options.bufferMegabytes ?? 128) * 2 ** 20,
    onEvent: (event) => {
      if (event.type === 'opened') fps = event.fps;
      options.onEvent?.(event);
    },
  });
  const output = options.output;
  return frames.pipe(
    takeUntil(options.stop ?? NEVER),
    segmentFrames<LiveFrame>(workers, options.model, { mode: 'live', ...(options.maxLatencyMs !== undefined ? { maxLatencyMs: options.maxLatencyMs } : {}) }),
    map((item): AnnotatedFrame<LiveFrame> => {
      const { gapSeconds, dropped } = item.frame;
      if (gapSeconds === undefined && !dropped) return item;
      return { ...item, ...(gapSeconds !== undefined ? { gapSeconds } : {}), ...(dropped ? { dropped } : {}) };
    }),
    // Drawing is for the video: a JSON-only run (a planner's feed) does not pay for it.
    withModel && output !== undefined ? renderInstances<AnnotatedFrame<LiveFrame>>(options.style) : identity,
    options.hud === false || output === undefined ? identity : renderHud<AnnotatedFrame<LiveFrame>>((item) => hudLines(item, 0, stats, { model: withModel, latency: true })),
    output === undefined
      ? identity
      : whenFirst((first: AnnotatedFrame<LiveFrame>) =>
          encodeVideo<AnnotatedFrame<LiveFrame>>({
            output,
            width: first.frame.width,
            height: first.frame.height,
            fps,
            // Milliseconds: live timestamps are wall-clock-like and jump over gaps, so keep each as it is.
            variableTimeBase: { num: 1, den: 1000 },
            origin: first.frame.pts,
            ...(options.preset !== undefined ? { preset: options.preset } : {}),
            ...(options.crf !== undefined ? { crf: options.crf } : {}),
            ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
            lowLatency: isUrl(output),
          }),
        ),
    options.json === undefined
      ? identity
      : writeJsonLines<AnnotatedFrame<LiveFrame>>({ target: options.json, source: options.source, latency: options.latency ?? true }),
  );
}

/** `dashseg stream`: runs until the source ends for good, or `stop` emits. */
export async function stream(options: StreamOptions): Promise<StreamSummary> {
  if (options.output !== undefined) checkOutputPath(options.output, options.overwrite ?? true);
  if (options.json !== undefined && options.json !== '-') checkOutputPath(options.json, true);
  const ownWorkers = options.model !== undefined && options.workers === undefined;
  const workers = options.workers ?? (options.model ? await startWorkers(options.model) : undefined);
  let reconnects = 0;
  const onEvent = (event: LiveEvent): void => {
    if (event.type === 'opened' && event.segment > 0) reconnects++;
    options.onEvent?.(event);
  };
  try {
    if (workers) options.onModel?.(workers.backend, workers.size);
    const stats = new PipelineStats();
    const totals = await runToEnd(streamFrames({ ...options, onEvent }, stats, workers), stats, {
      ...(options.stop ? { stop: options.stop } : {}),
      ...(options.onFrame ? { onFrame: options.onFrame } : {}),
    });
    return { ...totals, dropped: stats.dropped, reconnects, latencyP50: stats.latencyPercentile(50), latencyP95: stats.latencyPercentile(95) };
  } finally {
    if (ownWorkers) await workers?.close();
  }
}
