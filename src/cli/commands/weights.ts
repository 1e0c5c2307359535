import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { UserError } from '../../errors';
import { OPERATING_POINT_LEAST, convertCheckpoint, describeCheckpoint, describeModel, loadModelDirectory, type WeightsDtype } from '../../model/model-dir';
import { pullModel } from '../../model/pull';
import { MASKRCNN_TRANSFORM } from '../../model/transform';
import { log } from '../../terminal/log';
import type { CliContext } from '../context';
import { fraction } from '../model-flags';

export interface ConvertArgs {
  checkpoint: string;
  out: string;
  labels?: string;
  'min-size'?: number;
  'max-size'?: number;
  'bn-eps'?: number;
  'anchor-sizes'?: string;
  'aspect-ratios'?: string;
  'default-score'?: number;
  'default-track-iou'?: number;
  dtype: string;
}

function isPositive(n: number): boolean {
  return Number.isFinite(n) && n > 0;
}

/** `0.5,1,2` to numbers, each positive, or a usage error naming the flag. */
function positiveList(flag: string, value: string): number[] {
  const numbers = value.split(',').map((part) => (part.trim() === '' ? NaN : Number(part)));
  if (!numbers.every(isPositive)) throw new UserError(`--${flag} must be positive numbers separated by commas, got "${value}"`, 2);
  return numbers;
}

/** `16,32,64,128,256` (one size per FPN level) or `16/24,32/48,...` (several per level) to sizes per level. */
function anchorSizes(value: string): number[][] {
  const levels = value.split(',').map((level) => level.split('/').map((part) => (part.trim() === '' ? NaN : Number(part))));
  if (!levels.every((sizes) => sizes.every(isPositive))) {
    throw new UserError(`--anchor-sizes must be positive numbers, one per FPN level separated by commas (several as 16/24), got "${value}"`, 2);
  }
  return levels;
}

export function convertBuilder(yargs: Argv): Argv<ConvertArgs> {
  return yargs
    .positional('checkpoint', { type: 'string', demandOption: true, describe: 'PyTorch checkpoint (.pt/.pth, zip or legacy) or .safetensors' })
    .option('out', { type: 'string', demandOption: true, describe: 'model directory to write' })
    .option('labels', { type: 'string', describe: '"coco" or a text file with one class name per line (default: COCO for 91 classes)' })
    .option('min-size', { type: 'number', describe: `resize the short side to this (default ${MASKRCNN_TRANSFORM.minSize})` })
    .option('max-size', { type: 'number', describe: `cap the long side at this (default ${MASKRCNN_TRANSFORM.maxSize})` })
    .option('bn-eps', { type: 'number', describe: 'frozen batch-norm epsilon: 1e-5 (default), 0 for torchvision\'s COCO v1 release' })
    .option('anchor-sizes', { type: 'string', describe: 'the RPN anchor size of each FPN level, as trained (default 32,64,128,256,512; several per level as 16/24,32/48,...)' })
    .option('aspect-ratios', { type: 'string', describe: 'the anchors\' height/width ratios, as trained (default 0.5,1,2)' })
    .option('dtype', { type: 'string', choices: ['float32', 'float16'], default: 'float32', describe: 'storage precision of the converted weights' })
    .option('default-score', { type: 'number', describe: 'the --score this model runs at unless told otherwise (as calibrated; default: the tool\'s 0.5)' })
    .option('default-track-iou', { type: 'number', describe: 'the --track-iou it runs at unless told otherwise (as calibrated; default: the tool\'s 0.3)' })
    .check((argv) => {
      if (argv['anchor-sizes'] !== undefined) anchorSizes(argv['anchor-sizes']);
      if (argv['aspect-ratios'] !== undefined) positiveList('aspect-ratios', argv['aspect-ratios']);
      for (const flag of ['min-size', 'max-size'] as const) {
        const value = argv[flag];
        if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new UserError(`--${flag} must be a positive whole number`, 2);
      }
      if (argv['bn-eps'] !== undefined && !(argv['bn-eps'] >= 0)) throw new UserError('--bn-eps must be a number >= 0', 2);
      // The same ranges as --score and --track-iou, which they stand in for.
      fraction(argv['default-score'], 'default-score', OPERATING_POINT_LEAST.score);
      fraction(argv['default-track-iou'], 'default-track-iou', OPERATING_POINT_LEAST.trackIou);
      return true;
    }) as unknown as Argv<ConvertArgs>;
}

export function convertCommand(args: ConvertArgs, context: CliContext): number {
  const started = performance.now();
  const config = convertCheckpoint(args.checkpoint, {
    out: args.out,
    dtype: args.dtype as WeightsDtype,
    ...(args.labels !== undefined ? { labels: args.labels } : {}),
    ...(args['min-size'] !== undefined ? { minSize: args['min-size'] } : {}),
    ...(args['max-size'] !== undefined ? { maxSize: args['max-size'] } : {}),
    ...(args['bn-eps'] !== undefined ? { bnEps: args['bn-eps'] } : {}),
    ...(args['anchor-sizes'] !== undefined ? { anchorSizes: anchorSizes(args['anchor-sizes']) } : {}),
    ...(args['aspect-ratios'] !== undefined ? { aspectRatios: positiveList('aspect-ratios', args['aspect-ratios']) } : {}),
    operatingPoint: {
      ...(args['default-score'] !== undefined ? { score: args['default-score'] } : {}),
      ...(args['default-track-iou'] !== undefined ? { trackIou: args['default-track-iou'] } : {}),
    },
  });
  for (const line of describeModel(config)) log(context, line);
  log(context, `converted ${args.checkpoint} -> ${args.out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

/** `inspect` takes a model directory or any checkpoint; a checkpoint is described as it would convert. */
export function inspectCommand(target: string, context: CliContext): number {
  if (!existsSync(target)) throw new UserError(`${target}: no such file or directory`);
  if (statSync(target).isDirectory()) {
    const { config } = loadModelDirectory(target);
    for (const line of describeModel(config)) context.stdout.write(`${line}\n`);
    return 0;
  }
  for (const line of describeCheckpoint(readFileSync(target), target)) context.stdout.write(`${line}\n`);
  return 0;
}

export async function pullCommand(name: string, context: CliContext): Promise<number> {
  let lastShown = -1;
  const result = await pullModel(name, (received, total) => {
    if (context.quiet || !context.stderr.isTTY) return;
    const shown = Math.floor(received / 2 ** 20);
    if (shown === lastShown) return;
    lastShown = shown;
    context.stderr.write(`\rdownloading ${shown} MiB${total !== undefined ? ` of ${Math.round(total / 2 ** 20)} MiB` : ''}\x1b[K`);
  });
  if (lastShown >= 0) context.stderr.write('\n');
  log(context, `${result.downloaded ? 'installed' : 'already installed'}: ${name} in ${result.dir}`);
  return 0;
}
