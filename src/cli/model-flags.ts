import type { Argv } from 'yargs';
import { UserError } from '../errors';
import { BACKEND_ORDER } from '../model/backend';
import { OPERATING_POINT_LEAST } from '../model/model-dir';
import type { ModelRequest } from '../settings/model-selection';

/** The flags that choose a model and how it runs over video: shared by `annotate` and `stream`. */
export interface ModelFlags {
  model?: string;
  backend?: string;
  workers?: number;
  threads?: number;
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

export const BACKEND_DESCRIPTION = 'inference engine and device (auto: a GPU if one works, else onnx on the CPU)';
export const THREADS_DESCRIPTION = 'threads per inference worker on onnx backends (default: workers x threads = cores)';

export function wholeNumber(value: number | undefined, flag: string, min: number): void {
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
    .option('backend', { type: 'string', choices: ['auto', ...BACKEND_ORDER], describe: BACKEND_DESCRIPTION })
    .option('workers', { type: 'number', describe: 'inference workers (default: one on a GPU; on the CPU one per core for videos, one for detect)' })
    .option('threads', { type: 'number', describe: THREADS_DESCRIPTION })
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
      wholeNumber(argv.threads, 'threads', 1);
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

/** The flags as the settings' request: the CLI's words turned into the library's. */
export function modelRequest(flags: ModelFlags): ModelRequest {
  return {
    model: flags.model,
    backend: flags.backend,
    workers: flags.workers,
    threads: flags.threads,
    score: flags.score,
    classes: flags.classes?.split(',').map((c) => c.trim()).filter((c) => c.length > 0),
    minSize: flags['min-size'],
    maxSize: flags['max-size'],
    every: flags.every,
    maxFps: flags['max-fps'],
    trackIou: flags['track-iou'],
    trackMaxAge: flags['track-max-age'],
  };
}
