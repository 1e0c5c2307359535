import yargs, { type Argv } from 'yargs';
import { UserError, errorMessage } from '../errors';
import { annotateBuilder, annotateCommand, type AnnotateArgs } from './commands/annotate';
import { detectBuilder, detectCommand, type DetectArgs } from './commands/detect';
import { doctorCommand } from './commands/doctor';
import { evalBuilder, evalCommand, type EvalArgs } from './commands/eval';
import { streamBuilder, streamCommand, type StreamArgs } from './commands/stream';
import { synthBuilder, synthCommand, type SynthArgs } from './commands/synth';
import { convertBuilder, convertCommand, inspectCommand, pullCommand, type ConvertArgs } from './commands/weights';
import type { CliContext } from './context';

/** Exit status for a command line that could not be understood, as in most Unix tools. */
const USAGE_ERROR = 2;

interface GlobalArgs {
  verbose: boolean;
  quiet: boolean;
  config?: string;
}

/** Options whose value may be `-` (stdout); yargs would otherwise read a lone `-` as a positional argument. */
const DASH_VALUE_OPTIONS = new Set(['--json']);
/** Options whose value is itself a list of ffmpeg options, so it starts with `-` and yargs would take it for a flag. */
const VERBATIM_VALUE_OPTIONS = new Set(['--input-options']);

export function joinDashValues(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if ((DASH_VALUE_OPTIONS.has(arg) && next === '-') || (VERBATIM_VALUE_OPTIONS.has(arg) && next !== undefined)) {
      joined.push(`${arg}=${next}`);
      i += 1;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/**
 * Run the CLI and resolve to the process exit code. Errors a user can cause become one line on stderr; any other
 * error is a bug and also gets one line, with the stack only under --verbose.
 */
export async function main(argv: string[], io: Pick<CliContext, 'stdout' | 'stderr'> = process): Promise<number> {
  let exitCode = 0;
  let verbose = argv.includes('--verbose');
  const context = (args: GlobalArgs): CliContext => {
    verbose = args.verbose;
    return { stdout: io.stdout, stderr: io.stderr, verbose: args.verbose, quiet: args.quiet };
  };
  const parser = yargs(joinDashValues(argv))
    .scriptName('dashseg')
    .usage('$0 <command> [options]\n\nReal-time Mask R-CNN instance segmentation for driving footage.')
    .option('verbose', { type: 'boolean', default: false, describe: 'show stack traces and ffmpeg details on errors' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or summary on stderr' })
    .option('config', { type: 'string', describe: 'JSON file overriding config/defaults.json' })
    .command<AnnotateArgs>(
      'annotate <input>',
      'segment a video and write an annotated video and/or per-frame JSON',
      annotateBuilder,
      async (args) => {
        exitCode = await annotateCommand(args, context(args as unknown as GlobalArgs));
      },
    )
    .command<StreamArgs>(
      'stream <source>',
      'segment a live camera or network stream in real time: annotated video and/or per-frame JSON',
      streamBuilder,
      async (args) => {
        exitCode = await streamCommand(args, context(args as unknown as GlobalArgs));
      },
    )
    .command<DetectArgs>(
      'detect <images..>',
      'segment still images: one JSON line per image, optionally the image with masks drawn',
      detectBuilder,
      async (args) => {
        exitCode = await detectCommand(args, context(args as unknown as GlobalArgs));
      },
    )
    .command<EvalArgs>(
      'eval',
      'score predictions against ground truth: COCO box and mask AP; tracking metrics for clips',
      evalBuilder,
      async (args) => {
        exitCode = await evalCommand(args, context(args as unknown as GlobalArgs));
      },
    )
    .command<SynthArgs>(
      'synth <kind>',
      'generate synthetic driving scenes with exact ground truth: a COCO dataset of stills, or a clip with per-frame ground truth',
      synthBuilder,
      async (args) => {
        exitCode = await synthCommand(args, context(args as unknown as GlobalArgs));
      },
    )
    .command(
      'doctor',
      'show which ffmpeg, ffprobe, TF.js backend and canvas are used, and why',
      (y) => y,
      async (args) => {
        exitCode = await doctorCommand(context(args as unknown as GlobalArgs));
      },
    )
    .command('weights', 'convert, inspect and download Mask R-CNN weights', (weights) =>
      weights
        .command<ConvertArgs>('convert <checkpoint>', 'turn a PyTorch checkpoint or safetensors file into a model directory', convertBuilder, (args) => {
          exitCode = convertCommand(args, context(args as unknown as GlobalArgs));
        })
        .command<{ target: string }>(
          'inspect <target>',
          'describe a model directory or checkpoint: architecture, classes, parameters, dtype, sizes',
          (y) => y.positional('target', { type: 'string', demandOption: true }) as unknown as Argv<{ target: string }>,
          (args) => {
            exitCode = inspectCommand(args.target, context(args as unknown as GlobalArgs));
          },
        )
        .command<{ name: string }>(
          'pull <name>',
          'download a checkpoint from weights/manifest.json, verify it and convert it into the model cache',
          (y) => y.positional('name', { type: 'string', demandOption: true }) as unknown as Argv<{ name: string }>,
          async (args) => {
            exitCode = await pullCommand(args.name, context(args as unknown as GlobalArgs));
          },
        )
        .demandCommand(1, 'give a weights command: convert, inspect or pull'),
    )
    .demandCommand(1, 'give a command: annotate, stream, detect, weights or doctor (dashseg --help lists them)')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 80))
    .exitProcess(false)
    .fail((message: string | undefined, error: Error | undefined) => {
      if (error) throw error;
      const text = message ?? 'invalid command line';
      throw new UserError(text.includes('--help') ? text : `${text} (dashseg --help shows usage)`, USAGE_ERROR);
    });
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (error) {
    if (error instanceof UserError) {
      io.stderr.write(`dashseg: ${error.message}\n`);
      if (verbose && error.stack) io.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    io.stderr.write(`dashseg: internal error: ${errorMessage(error)}${verbose ? '' : ' (run with --verbose for details)'}\n`);
    if (verbose && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
