import type { Argv } from 'yargs';
import { detect } from '../../../pipelines/detect';
import { UserError } from '../../errors';
import { BACKEND_ORDER } from '../../model/backend';
import { BACKEND_DESCRIPTION, THREADS_DESCRIPTION, wholeNumber } from '../model-flags';
import { loadConfig } from '../../settings/config';
import { modelSelection } from '../../settings/model-selection';
import { log } from '../../terminal/log';
import { checkOutputPath } from '../../video/encode';
import type { CliContext } from '../context';

export interface DetectArgs {
  images: string[];
  model?: string;
  score?: number;
  'min-size'?: number;
  'max-size'?: number;
  json?: string;
  output?: string;
  backend?: string;
  threads?: number;
  config?: string;
}

export function detectBuilder(yargs: Argv): Argv<DetectArgs> {
  return yargs
    .positional('images', { type: 'string', array: true, demandOption: true, describe: 'image files (jpg, png, webp, ...)' })
    // Like annotate's and stream's, every default comes from the config (config/defaults.json or --config).
    .option('model', { type: 'string', describe: 'model directory, pulled or bundled model name, or "default"' })
    .option('score', { type: 'number', describe: "leave out instances scoring below this (default: the model's operating point, else 0.5)" })
    .option('min-size', { type: 'number', describe: "resize the short side to this (default: the model's)" })
    .option('max-size', { type: 'number', describe: "cap the long side at this (default: the model's)" })
    .option('json', { type: 'string', describe: 'per-image JSON Lines to write, or - for stdout' })
    .option('output', { alias: 'o', type: 'string', describe: 'annotated PNG (a directory when several images are given)' })
    .option('backend', { type: 'string', choices: ['auto', ...BACKEND_ORDER], describe: BACKEND_DESCRIPTION })
    .option('threads', { type: 'number', describe: THREADS_DESCRIPTION })
    .check((argv) => {
      if (argv.score !== undefined && !(argv.score >= 0 && argv.score <= 1)) throw new UserError('--score must be between 0 and 1', 2);
      for (const flag of ['min-size', 'max-size'] as const) {
        const value = argv[flag];
        if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new UserError(`--${flag} must be a positive whole number`, 2);
      }
      wholeNumber(argv.threads, 'threads', 1);
      return true;
    }) as unknown as Argv<DetectArgs>;
}

export async function detectCommand(args: DetectArgs, context: CliContext): Promise<number> {
  const config = loadConfig(args.config);
  const model = modelSelection(
    { model: args.model, backend: args.backend, threads: args.threads, score: args.score, minSize: args['min-size'], maxSize: args['max-size'] },
    config,
    'stills',
  );
  if (!model) throw new UserError('detect needs a model: the config says "none"; give --model <dir or name>', 2);
  if (args.json !== undefined && args.json !== '-') checkOutputPath(args.json);
  if (args.output !== undefined && args.images.length === 1) checkOutputPath(args.output);
  const { dir, backend, threads, score, minSize, maxSize } = model.options;
  const summary = await detect({
    images: args.images,
    modelDir: dir,
    backend,
    ...(threads !== undefined ? { threads } : {}),
    score,
    ...(minSize !== undefined ? { minSize } : {}),
    ...(maxSize !== undefined ? { maxSize } : {}),
    ...(args.json !== undefined ? { json: args.json } : {}),
    ...(args.output !== undefined ? { output: args.output } : {}),
    onBackend: (description) => {
      log(context, model.reason);
      log(context, description);
    },
    onImage: (path, detections, milliseconds) => {
      const counts = new Map<string, number>();
      for (const detection of detections) counts.set(detection.label, (counts.get(detection.label) ?? 0) + 1);
      const found = [...counts].map(([label, count]) => `${count} ${label}`).join(', ') || 'nothing';
      log(context, `${path}: ${found} (${milliseconds.toFixed(0)} ms)`);
    },
  });
  log(context, `${summary.images} image${summary.images === 1 ? '' : 's'}, ${summary.instances} instances`);
  return 0;
}
