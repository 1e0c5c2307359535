import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { UserError } from '../../errors';
import { canonicalStateDict, inferArchitecture } from '../../model/architecture';
import { convertCheckpoint, describeModel, loadModelDirectory, readCheckpoint, resolveLabels, type WeightsDtype } from '../../model/model-dir';
import { MASKRCNN_TRANSFORM } from '../../model/transform';
import { pullModel } from '../../model/pull';
import { elementCount } from '../../model/weights/tensor';
import { log, type CliContext } from '../context';

export interface ConvertArgs {
  checkpoint: string;
  out: string;
  labels?: string;
  'min-size'?: number;
  'max-size'?: number;
  'bn-eps'?: number;
  dtype: string;
}

export function convertBuilder(yargs: Argv): Argv<ConvertArgs> {
  return yargs
    .positional('checkpoint', { type: 'string', demandOption: true, describe: 'PyTorch checkpoint (.pt/.pth, zip or legacy) or .safetensors' })
    .option('out', { type: 'string', demandOption: true, describe: 'model directory to write' })
    .option('labels', { type: 'string', describe: '"coco" or a text file with one class name per line (default: COCO for 91 classes)' })
    .option('min-size', { type: 'number', describe: `resize the short side to this (default ${MASKRCNN_TRANSFORM.minSize})` })
    .option('max-size', { type: 'number', describe: `cap the long side at this (default ${MASKRCNN_TRANSFORM.maxSize})` })
    .option('bn-eps', { type: 'number', describe: 'frozen batch-norm epsilon: 1e-5 (default), 0 for torchvision\'s COCO v1 release' })
    .option('dtype', { type: 'string', choices: ['float32', 'float16'], default: 'float32', describe: 'storage precision of the converted weights' })
    .check((argv) => {
      for (const flag of ['min-size', 'max-size'] as const) {
        const value = argv[flag];
        if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new UserError(`--${flag} must be a positive whole number`, 2);
      }
      if (argv['bn-eps'] !== undefined && !(argv['bn-eps'] >= 0)) throw new UserError('--bn-eps must be a number >= 0', 2);
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
  const checkpoint = readCheckpoint(readFileSync(target), target);
  const tensors = canonicalStateDict(checkpoint.tensors);
  const architecture = inferArchitecture(new Map([...tensors].map(([name, tensor]) => [name, tensor.shape])));
  const dtypes = [...new Set([...tensors.values()].map((tensor) => tensor.dtype))];
  const lines = describeModel({
    format: 'dashseg-maskrcnn',
    version: 1,
    architecture,
    labels: resolveLabels(undefined, architecture.numClasses),
    transform: MASKRCNN_TRANSFORM,
    frozenBatchNormEps: 1e-5,
    weights: { file: target, dtype: 'float32', parameters: [...tensors.values()].reduce((sum, t) => sum + elementCount(t.shape), 0) },
  }).filter((line) => !line.startsWith('frozen BN eps') && !line.startsWith('input sizes'));
  for (const line of lines) context.stdout.write(`${line}\n`);
  context.stdout.write(`checkpoint     ${checkpoint.format} format, ${tensors.size} tensors, stored as ${dtypes.join('/')}\n`);
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
