import type { Argv } from 'yargs';
import { UserError } from '../../errors';
import { Throughput } from '../../stats/throughput';
import { writeClip } from '../../synth/clip';
import { writeStillsDataset } from '../../synth/dataset';
import { LIGHTING_MODES, type LightingMode } from '../../synth/lighting';
import { DEFAULT_IGNORE_AREA } from '../../synth/scene';
import { log } from '../../terminal/log';
import { ProgressReporter } from '../../terminal/progress';
import { X264_PRESETS, type X264Preset } from '../../video/encode';
import type { CliContext } from '../context';

export interface SynthArgs {
  kind: string;
  out: string;
  count?: number;
  seconds?: number;
  fps: number;
  seed: number;
  width?: number;
  height?: number;
  lighting?: string;
  'ignore-area'?: number;
  workers?: number;
  preset?: string;
  crf?: number;
}

const KINDS = ['stills', 'clip'];
const MAX_COUNT = 1_000_000;
const MAX_SECONDS = 3600;
const MAX_SIDE = 4096;

function wholeNumber(value: number | undefined, min: number, max: number): boolean {
  return value === undefined || (Number.isInteger(value) && value >= min && value <= max);
}

export function synthBuilder(yargs: Argv): Argv<SynthArgs> {
  return yargs
    .positional('kind', { type: 'string', demandOption: true, describe: 'stills (a COCO dataset) or clip (a video with per-frame ground truth)' })
    .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'stills: dataset directory; clip: video file (.mp4, .mkv, .mov)' })
    .option('count', { type: 'number', describe: 'stills: how many images' })
    .option('seconds', { type: 'number', describe: 'clip: length in seconds' })
    .option('fps', { type: 'number', default: 25, describe: 'clip: frames per second' })
    .option('seed', { type: 'number', default: 0, describe: 'same seed, same scenes, byte for byte' })
    .option('width', { type: 'number', describe: 'image width (default: stills 640, clip 960)' })
    .option('height', { type: 'number', describe: 'image height (default: stills 360, clip 540)' })
    .option('lighting', { type: 'string', describe: `time of day: ${LIGHTING_MODES.join(', ')} (default: a mix)` })
    .option('ignore-area', {
      type: 'number',
      describe: `objects with fewer visible pixels are ignore regions (COCO iscrowd), neither found nor missed (default ${DEFAULT_IGNORE_AREA}; 0 scores all)`,
    })
    .option('workers', { type: 'number', describe: 'stills: rendering processes (default: one per core)' })
    .option('preset', { type: 'string', describe: 'clip: x264 preset (speed vs size)' })
    .option('crf', { type: 'number', describe: 'clip: x264 quality, 0 (lossless) to 51 (worst)' })
    .check((argv) => {
      const kind = argv.kind as string;
      if (!KINDS.includes(kind)) throw new UserError(`unknown kind ${JSON.stringify(kind)}: give stills or clip`, 2);
      if (typeof argv.out !== 'string' || argv.out === '') throw new UserError('--out needs a path', 2);
      if (kind === 'stills') {
        if (argv.count === undefined) throw new UserError('synth stills needs --count N', 2);
        if (!wholeNumber(argv.count, 1, MAX_COUNT)) throw new UserError(`--count must be a whole number from 1 to ${MAX_COUNT}`, 2);
        for (const flag of ['seconds', 'preset', 'crf'] as const) if (argv[flag] !== undefined) throw new UserError(`--${flag} is for synth clip, not stills`, 2);
      } else {
        if (argv.seconds === undefined) throw new UserError('synth clip needs --seconds S', 2);
        if (!(argv.seconds > 0 && argv.seconds <= MAX_SECONDS)) throw new UserError(`--seconds must be a number above 0 and at most ${MAX_SECONDS}`, 2);
        for (const flag of ['count', 'workers'] as const) if (argv[flag] !== undefined) throw new UserError(`--${flag} is for synth stills, not clip`, 2);
        if (argv.preset !== undefined && !(X264_PRESETS as readonly string[]).includes(argv.preset)) throw new UserError(`--preset must be one of ${X264_PRESETS.join(', ')}`, 2);
        if (argv.crf !== undefined && !(argv.crf >= 0 && argv.crf <= 51)) throw new UserError('--crf must be from 0 to 51', 2);
      }
      if (!(argv.fps > 0 && argv.fps <= 240)) throw new UserError('--fps must be a number above 0 and at most 240', 2);
      if (!wholeNumber(argv.seed, 0, 0xffffffff)) throw new UserError('--seed must be a whole number from 0 to 4294967295', 2);
      const even = kind === 'clip' ? ' and even (H.264 4:2:0)' : '';
      for (const flag of ['width', 'height'] as const) {
        const value = argv[flag];
        if (value === undefined) continue;
        if (!wholeNumber(value, 64, MAX_SIDE) || (kind === 'clip' && value % 2 === 1)) throw new UserError(`--${flag} must be a whole number from 64 to ${MAX_SIDE}${even}`, 2);
      }
      if (argv.lighting !== undefined && !(LIGHTING_MODES as readonly string[]).includes(argv.lighting)) throw new UserError(`--lighting must be one of ${LIGHTING_MODES.join(', ')}`, 2);
      if (!wholeNumber(argv['ignore-area'], 0, MAX_SIDE * MAX_SIDE)) throw new UserError('--ignore-area must be a whole number of pixels >= 0', 2);
      if (!wholeNumber(argv.workers, 0, 64)) throw new UserError('--workers must be a whole number from 0 to 64', 2);
      return true;
    }) as unknown as Argv<SynthArgs>;
}

function counts(record: Record<string, number>): string {
  return Object.entries(record)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${n} ${name}`)
    .join(', ');
}

export async function synthCommand(args: SynthArgs, context: CliContext): Promise<number> {
  const lighting = args.lighting as LightingMode | undefined;
  const throughput = new Throughput();
  if (args.kind === 'stills') {
    const count = args.count as number;
    const width = args.width ?? 640;
    const height = args.height ?? 360;
    const progress = context.quiet ? undefined : new ProgressReporter(context.stderr, throughput, count);
    const summary = await writeStillsDataset({
      out: args.out,
      count,
      seed: args.seed,
      width,
      height,
      ...(lighting ? { lighting } : {}),
      ...(args['ignore-area'] !== undefined ? { ignoreArea: args['ignore-area'] } : {}),
      ...(args.workers !== undefined ? { workers: args.workers } : {}),
      onImage: () => {
        throughput.tick();
        progress?.update();
      },
    });
    progress?.finish();
    log(context, `${summary.images} images ${width}x${height}, ${summary.annotations} instances (${counts(summary.perClass)}); ${counts(summary.perLighting)}`);
    log(context, `${(summary.images / summary.seconds).toFixed(1)} images/s, ${summary.seconds.toFixed(1)} s -> ${summary.annotationsFile}`);
    return 0;
  }
  const fps = args.fps;
  const seconds = args.seconds as number;
  const progress = context.quiet ? undefined : new ProgressReporter(context.stderr, throughput, Math.max(1, Math.round(seconds * fps)));
  const summary = await writeClip({
    output: args.out,
    seconds,
    fps,
    seed: args.seed,
    width: args.width ?? 960,
    height: args.height ?? 540,
    ...(lighting ? { lighting } : {}),
    ...(args['ignore-area'] !== undefined ? { ignoreArea: args['ignore-area'] } : {}),
    ...(args.preset !== undefined ? { preset: args.preset as X264Preset } : {}),
    ...(args.crf !== undefined ? { crf: args.crf } : {}),
    onFrame: () => {
      throughput.tick();
      progress?.update();
    },
  });
  progress?.finish();
  log(context, `${summary.frames} frames, ${summary.instances} instances of ${summary.tracks} objects in ${summary.seconds.toFixed(1)} s`);
  log(context, `-> ${summary.output}, ${summary.json}`);
  return 0;
}
