import type { Argv } from 'yargs';
import { annotateOnTerminal } from '../../../pipelines/annotate-on-terminal';
import { UserError } from '../../errors';
import { loadConfig } from '../../settings/config';
import { modelSelection } from '../../settings/model-selection';
import { log } from '../../terminal/log';
import { X264_PRESETS, type X264Preset } from '../../video/encode';
import type { CliContext } from '../context';
import { modelFlags, modelRequest, type ModelFlags } from '../model-flags';

export interface AnnotateArgs extends ModelFlags {
  input: string;
  output?: string;
  json?: string;
  start?: number;
  duration?: number;
  preset?: string;
  crf?: number;
  hud: boolean;
  audio: boolean;
  overwrite: boolean;
  latency: boolean;
  config?: string;
}

export function annotateBuilder(yargs: Argv): Argv<AnnotateArgs> {
  return modelFlags(yargs)
    .positional('input', { type: 'string', demandOption: true, describe: 'video file or URL' })
    .option('output', { alias: 'o', type: 'string', describe: 'annotated video to write (.mp4, .mkv, .mov) or stream URL' })
    .option('json', { type: 'string', describe: 'per-frame JSON Lines to write, or - for stdout' })
    .option('start', { type: 'number', describe: 'seconds into the input to begin at' })
    .option('duration', { type: 'number', describe: 'seconds of input to process' })
    .option('preset', { type: 'string', choices: X264_PRESETS, describe: 'x264 preset (speed vs size)' })
    .option('crf', { type: 'number', describe: 'x264 quality, 0 (lossless) to 51 (worst)' })
    .option('hud', { type: 'boolean', default: true, describe: 'draw frame, time and fps in the corner (--no-hud to hide)' })
    .option('audio', { type: 'boolean', default: true, describe: 'copy the source audio (--no-audio to drop it)' })
    .option('overwrite', { type: 'boolean', default: true, describe: 'replace existing outputs (--no-overwrite to refuse)' })
    .option('latency', { type: 'boolean', default: false, describe: 'add latencyMs (decode to write) to each JSON line' })
    .check((argv) => {
      if (argv.output === undefined && argv.json === undefined) throw new UserError('nothing to write: give -o <video> and/or --json <file|->');
      if (argv.start !== undefined && !(argv.start >= 0)) throw new UserError('--start must be a number of seconds >= 0');
      if (argv.duration !== undefined && !(argv.duration > 0)) throw new UserError('--duration must be a number of seconds > 0');
      if (argv.crf !== undefined && !(argv.crf >= 0 && argv.crf <= 51)) throw new UserError('--crf must be from 0 to 51');
      if (argv.output === '-' ) throw new UserError('-o - is not supported: write the video to a file or a stream URL');
      return true;
    }) as unknown as Argv<AnnotateArgs>;
}

export async function annotateCommand(args: AnnotateArgs, context: CliContext): Promise<number> {
  const config = loadConfig(args.config);
  const model = modelSelection(modelRequest(args), config);
  const summary = await annotateOnTerminal(
    {
      input: args.input,
      ...(args.output !== undefined ? { output: args.output } : {}),
      ...(args.json !== undefined ? { json: args.json } : {}),
      ...(args.start !== undefined ? { start: args.start } : {}),
      ...(args.duration !== undefined ? { duration: args.duration } : {}),
      preset: (args.preset as X264Preset | undefined) ?? config.encode.preset,
      crf: args.crf ?? config.encode.crf,
      hud: args.hud && config.hud.enabled,
      audio: args.audio,
      overwrite: args.overwrite,
      latency: args.latency,
      bufferMegabytes: config.decode.bufferMegabytes,
      ...(model ? { model: model.options } : {}),
      style: config.render,
    },
    context,
    model?.reason,
    config.progress.intervalSeconds,
  );
  const outputs = [args.output, args.json === '-' ? 'stdout' : args.json].filter((o) => o !== undefined).join(', ');
  const found = model ? `, ${summary.inferred} inferred, ${summary.instances} instances in ${summary.tracks} tracks` : '';
  log(
    context,
    `${summary.interrupted ? 'interrupted after' : 'annotated'} ${summary.frames} frames${found} in ${summary.seconds.toFixed(1)} s ` +
      `(${summary.fps.toFixed(1)} fps) -> ${outputs}`,
  );
  return summary.interrupted ? 130 : 0;
}
