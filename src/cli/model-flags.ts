import type { Argv } from 'yargs';
import type { ModelRunOptions } from '../../pipelines/annotate';
import type { DashsegConfig } from '../config';
import { UserError } from '../errors';
import { BACKEND_ORDER, parseBackendName } from '../model/backend';
import { chooseModel } from '../model/model-choice';
import { OPERATING_POINT_LEAST, describeOperatingPoint, readModelConfig, type ModelConfig, type OperatingPoint } from '../model/model-dir';
import { TRACKER_DEFAULTS } from '../track/tracker';

/** The flags that choose a model and how it runs over video: shared by `annotate` and `stream`. */
export interface ModelFlags {
  model?: string;
  backend?: string;
  workers?: number;
  score?: number;
  classes?: string;
  'min-size'?: number;
  'max-size'?: number;
  every?: number;
  'max-fps'?: number;
  'track-iou'?: number;
  'track-max-age'?: number;
}

const USAGE = 2;

function wholeNumber(value: number | undefined, flag: string, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) throw new UserError(`--${flag} must be a whole number >= ${min}`, USAGE);
}

/** A flag that must lie in [min, 1], or a usage error naming it. */
export function fraction(value: number | undefined, flag: string, min: number): void {
  if (value !== undefined && !(value >= min && value <= 1)) throw new UserError(`--${flag} must be a number from ${min} to 1`, USAGE);
}

/** Every default comes from the config (config/defaults.json or --config), so no flag has a yargs default. */
export function modelFlags<T>(yargs: Argv<T>): Argv<T & ModelFlags> {
  return yargs
    .option('model', { type: 'string', describe: 'model directory, pulled or bundled model name, "default", or "none" (no segmentation)' })
    .option('backend', { type: 'string', choices: ['auto', ...BACKEND_ORDER], describe: 'TF.js backend' })
    .option('workers', { type: 'number', describe: 'inference worker threads (default: one per core on CPU, one on GPU)' })
    .option('score', { type: 'number', describe: "leave out instances scoring below this (default: the model's operating point, else 0.5)" })
    .option('classes', { type: 'string', describe: 'only these classes, comma-separated (e.g. car,person)' })
    .option('min-size', { type: 'number', describe: "resize the short side to this (default: the model's)" })
    .option('max-size', { type: 'number', describe: "cap the long side at this (default: the model's)" })
    .option('every', { type: 'number', describe: 'run the model on every N-th frame; the tracker carries the others' })
    .option('max-fps', { type: 'number', describe: 'run the model on at most F frames per second of video' })
    .option('track-iou', { type: 'number', describe: "least mask IoU to continue a track (default: the model's operating point, else 0.3)" })
    .option('track-max-age', { type: 'number', describe: 'inferred frames a lost track is kept before it is dropped' })
    .check((argv) => {
      wholeNumber(argv.workers, 'workers', 1);
      fraction(argv.score, 'score', OPERATING_POINT_LEAST.score);
      wholeNumber(argv['min-size'], 'min-size', 1);
      wholeNumber(argv['max-size'], 'max-size', 1);
      wholeNumber(argv.every, 'every', 1);
      if (argv['max-fps'] !== undefined && !(argv['max-fps'] > 0)) throw new UserError('--max-fps must be a number > 0', USAGE);
      fraction(argv['track-iou'], 'track-iou', OPERATING_POINT_LEAST.trackIou);
      wholeNumber(argv['track-max-age'], 'track-max-age', 0);
      return true;
    }) as unknown as Argv<T & ModelFlags>;
}

export interface ModelSelection {
  options: ModelRunOptions;
  /** Which model and why, for the log. */
  reason: string;
}

/** A resize size: the flag, else the config's, unless the config leaves it to the model ("model"). */
export function resizeSize(flag: number | undefined, configured: number | 'model'): number | undefined {
  return flag ?? (configured === 'model' ? undefined : configured);
}

/** For a model with no operating point of its own: the score COCO models are commonly run at, the tracker's IoU. */
export const GENERIC_OPERATING_POINT: Readonly<Required<OperatingPoint>> = Object.freeze({
  score: 0.5,
  trackIou: TRACKER_DEFAULTS.iouThreshold,
});

export interface ResolvedOperatingPoint extends Required<OperatingPoint> {
  /** The settings that came from the model's operating point, for the log; empty when none did. */
  fromModel: OperatingPoint;
}

/**
 * Score threshold and track IoU: each the flag, else the config's number, else (the config says "model", as the
 * shipped one does) the model's operating point, else the generic one.
 */
export function operatingPoint(
  flags: { score?: number | undefined; trackIou?: number | undefined },
  configured: { score: number | 'model'; trackIou: number | 'model' },
  model: Pick<ModelConfig, 'operatingPoint'>,
): ResolvedOperatingPoint {
  const fromModel: OperatingPoint = {};
  const setting = (key: keyof OperatingPoint): number => {
    const flag = flags[key];
    if (flag !== undefined) return flag;
    const value = configured[key];
    if (value !== 'model') return value;
    const own = model.operatingPoint?.[key];
    if (own === undefined) return GENERIC_OPERATING_POINT[key];
    fromModel[key] = own;
    return own;
  };
  return { score: setting('score'), trackIou: setting('trackIou'), fromModel };
}

/** Which model and why, and what it runs at where that is the model's own choice (`own`, see `fromModel`). */
export function withOperatingPoint(reason: string, own: OperatingPoint): string {
  const described = describeOperatingPoint(own);
  return described === '' ? reason : `${reason}; ${described} (its operating point)`;
}

/** Flags over config: the model to run and how, or undefined for `--model none`. */
export function modelSelection(flags: ModelFlags, config: DashsegConfig): ModelSelection | undefined {
  const name = flags.model ?? config.model.name;
  if (name === 'none') return undefined;
  const choice = chooseModel(name);
  const m = config.model;
  const classes = flags.classes !== undefined ? flags.classes.split(',').map((c) => c.trim()).filter((c) => c.length > 0) : m.classes;
  const workers = flags.workers ?? (m.workers === 'auto' ? undefined : m.workers);
  const minSize = resizeSize(flags['min-size'], m.minSize);
  const maxSize = resizeSize(flags['max-size'], m.maxSize);
  const maxFps = flags['max-fps'] ?? config.schedule.maxFps ?? undefined;
  const t = config.tracker;
  const point = operatingPoint(
    { score: flags.score, trackIou: flags['track-iou'] },
    { score: m.score, trackIou: t.iou },
    readModelConfig(choice.dir),
  );
  return {
    reason: withOperatingPoint(choice.reason, point.fromModel),
    options: {
      dir: choice.dir,
      backend: parseBackendName(flags.backend ?? m.backend),
      ...(workers !== undefined ? { workers } : {}),
      ...(minSize !== undefined ? { minSize } : {}),
      ...(maxSize !== undefined ? { maxSize } : {}),
      score: point.score,
      classes,
      every: flags.every ?? config.schedule.every,
      ...(maxFps !== undefined ? { maxFps } : {}),
      tracker: {
        iouThreshold: point.trackIou,
        maxAge: flags['track-max-age'] ?? t.maxAge,
        minHits: t.minHits,
        coast: t.coast,
        motionSmoothing: t.motionSmoothing,
      },
      backfill: t.backfill,
    },
  };
}
