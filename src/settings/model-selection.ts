/**
 * Which model a run uses and how it runs it: what the user asked for, over the config, over the model's own
 * operating point. The CLI turns flags into a `ModelRequest`; annotate, stream and detect, and the tools that run a
 * model as the CLI would, resolve it here.
 */
import { parseBackendName, type BackendName } from '../model/backend';
import { chooseModel } from '../model/model-choice';
import { readModelConfig } from '../model/model-dir';
import type { TrackerConfig } from '../track/tracker';
import type { DashsegConfig } from './config';
import { operatingPoint, withOperatingPoint } from './operating-point';

/** The model and everything about how it is run over a video. */
export interface ModelRunOptions {
  /** A model directory (see `dashseg weights convert`). */
  dir: string;
  backend?: BackendName | 'auto';
  /** Inference workers (see `resourceSplit`). */
  workers?: number;
  /** Intra-op threads per worker on ONNX backends (see `resourceSplit`). */
  threads?: number;
  /** Override the model's own resize sizes. */
  minSize?: number;
  maxSize?: number;
  /** Least score for a detection to be tracked, drawn and reported. */
  score?: number;
  /** Only these classes (names from the model's labels), everywhere. */
  classes?: readonly string[];
  /** `--every N`, `--max-fps F`. */
  every?: number;
  maxFps?: number;
  tracker?: Partial<TrackerConfig>;
  /**
   * Report confirmed tracks from their first detection rather than from the one that confirmed them, holding
   * frames back until then (`TentativeBackfill`). Files only: a live source's frames are never held.
   */
  backfill?: boolean;
}

/** What the user asked for, each setting in its own words; whatever is left out comes from the config. */
export interface ModelRequest {
  /** A model directory, a pulled or bundled model's name, `default`, or `none` (no segmentation). */
  model?: string | undefined;
  /** A backend name or `auto`. */
  backend?: string | undefined;
  workers?: number | undefined;
  threads?: number | undefined;
  score?: number | undefined;
  classes?: readonly string[] | undefined;
  minSize?: number | undefined;
  maxSize?: number | undefined;
  every?: number | undefined;
  maxFps?: number | undefined;
  trackIou?: number | undefined;
  trackMaxAge?: number | undefined;
}

export interface ModelSelection {
  /** With the score and backend always decided. */
  options: ModelRunOptions & Required<Pick<ModelRunOptions, 'score' | 'backend'>>;
  /** Which model and why, for the log. */
  reason: string;
}

/** A resize size: the request's, else the config's, unless the config leaves it to the model ("model"). */
export function resizeSize(requested: number | undefined, configured: number | 'model'): number | undefined {
  return requested ?? (configured === 'model' ? undefined : configured);
}

/**
 * The model to run and how, or undefined for `none`. `stills` is for `detect`, which tracks nothing: its log line
 * names only the score among what the model chose.
 */
export function modelSelection(request: ModelRequest, config: DashsegConfig, use: 'video' | 'stills' = 'video'): ModelSelection | undefined {
  const name = request.model ?? config.model.name;
  if (name === 'none') return undefined;
  const choice = chooseModel(name);
  const m = config.model;
  const workers = request.workers ?? (m.workers === 'auto' ? undefined : m.workers);
  const threads = request.threads ?? (m.threads === 'auto' ? undefined : m.threads);
  const minSize = resizeSize(request.minSize, m.minSize);
  const maxSize = resizeSize(request.maxSize, m.maxSize);
  const maxFps = request.maxFps ?? config.schedule.maxFps ?? undefined;
  const t = config.tracker;
  const point = operatingPoint({ score: request.score, trackIou: request.trackIou }, { score: m.score, trackIou: t.iou }, readModelConfig(choice.dir));
  const own = use === 'video' ? point.fromModel : point.fromModel.score !== undefined ? { score: point.fromModel.score } : {};
  return {
    reason: withOperatingPoint(choice.reason, own),
    options: {
      dir: choice.dir,
      backend: parseBackendName(request.backend ?? m.backend),
      ...(workers !== undefined ? { workers } : {}),
      ...(threads !== undefined ? { threads } : {}),
      ...(minSize !== undefined ? { minSize } : {}),
      ...(maxSize !== undefined ? { maxSize } : {}),
      score: point.score,
      classes: request.classes ?? m.classes,
      every: request.every ?? config.schedule.every,
      ...(maxFps !== undefined ? { maxFps } : {}),
      tracker: {
        iouThreshold: point.trackIou,
        maxAge: request.trackMaxAge ?? t.maxAge,
        minHits: t.minHits,
        coast: t.coast,
        motionSmoothing: t.motionSmoothing,
      },
      backfill: t.backfill,
    },
  };
}
