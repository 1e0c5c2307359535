import type { Argv } from 'yargs';
import { stream } from '../../../pipelines/stream';
import { UserError } from '../../errors';
import { loadConfig } from '../../settings/config';
import { modelSelection } from '../../settings/model-selection';
import type { PipelineStats } from '../../stats/pipeline-stats';
import { log } from '../../terminal/log';
import { stopOnSignals } from '../../terminal/signals';
import { X264_PRESETS, type X264Preset } from '../../video/encode';
import type { LiveEvent } from '../../video/live';
import type { CliContext } from '../context';
import { modelFlags, modelRequest, type ModelFlags } from '../model-flags';

export interface StreamArgs extends ModelFlags {
  source: string;
  output?: string;
  json?: string;
  format?: string;
  'input-options'?: string;
  'max-latency'?: number;
  reconnect: boolean;
  'stall-timeout'?: number;
  'give-up'?: number;
  preset?: string;
  crf?: number;
  hud: boolean;
  overwrite: boolean;
  config?: string;
}

const USAGE = 2;

export function streamBuilder(yargs: Argv): Argv<StreamArgs> {
  return modelFlags(yargs)
    .positional('source', { type: 'string', demandOption: true, describe: 'camera device (/dev/video0), stream URL (rtsp, udp, tcp, http), FIFO, or - for stdin' })
    .option('output', { alias: 'o', type: 'string', describe: 'annotated video: a file (.mp4, .mkv, .ts) or a stream URL' })
    .option('json', { type: 'string', describe: 'per-frame JSON Lines to write, or - for stdout' })
    .option('format', { alias: 'f', type: 'string', describe: "input format for ffmpeg's -f (v4l2 for cameras, mpegts for a bare pipe)" })
    .option('input-options', { type: 'string', describe: 'more ffmpeg input options, e.g. "-video_size 1280x720 -framerate 30"' })
    .option('max-latency', { type: 'number', describe: 'ms: a frame older than this is not given to the model' })
    .option('reconnect', { type: 'boolean', default: true, describe: 'reopen the source when it drops (--no-reconnect to stop instead)' })
    .option('stall-timeout', { type: 'number', describe: 'seconds without a frame before the source counts as dropped' })
    .option('give-up', { type: 'number', describe: 'seconds without any frame after which stream stops reconnecting' })
    .option('preset', { type: 'string', choices: X264_PRESETS, describe: 'x264 preset for -o' })
    .option('crf', { type: 'number', describe: 'x264 quality for -o, 0 (lossless) to 51 (worst)' })
    .option('hud', { type: 'boolean', default: true, describe: 'draw time, rates and latency in the corner (--no-hud to hide)' })
    .option('overwrite', { type: 'boolean', default: true, describe: 'replace an existing output file (--no-overwrite to refuse)' })
    .check((argv) => {
      if (argv.output === undefined && argv.json === undefined) throw new UserError('nothing to write: give -o <video|url> and/or --json <file|->', USAGE);
      if (argv.output === '-') throw new UserError('-o - is not supported: write the video to a file or a stream URL', USAGE);
      if (argv.json === '-' && (argv.source === '-' || argv.source === '')) throw new UserError('stdin is the source: write the JSON to a file (stdout stays free)', USAGE);
      for (const flag of ['max-latency', 'stall-timeout', 'give-up'] as const) {
        const value = argv[flag];
        if (value !== undefined && !(value > 0)) throw new UserError(`--${flag} must be a number > 0`, USAGE);
      }
      if (argv.crf !== undefined && !(argv.crf >= 0 && argv.crf <= 51)) throw new UserError('--crf must be from 0 to 51', USAGE);
      return true;
    }) as unknown as Argv<StreamArgs>;
}

function describeEvent(source: string, event: LiveEvent): string {
  switch (event.type) {
    case 'opened':
      return `${source}: ${event.segment > 0 ? 'reconnected' : 'opened'}, ${event.width}x${event.height} at ${event.fps.toFixed(2)} fps`;
    case 'note':
      return `${source}: ${event.message}`;
    case 'lost':
      return `${source}: lost (${event.reason})`;
    case 'retry':
      return `${source}: reconnecting in ${event.delaySeconds.toFixed(1)} s (attempt ${event.attempt})`;
    case 'gave-up':
      return `${source}: no frame for ${event.seconds.toFixed(0)} s, giving up`;
  }
}

export function statsLine(stats: PipelineStats): string {
  const latency = Number.isFinite(stats.latencyMs) ? `${Math.round(stats.latencyMs)} ms` : '-';
  return (
    `${stats.frames} frames, ${stats.output.fps.toFixed(1)} fps, model ${stats.modelFps.toFixed(1)} fps ` +
    `(${Math.round(stats.inferredShare * 100)}% inferred), latency ${latency}, ${stats.tracks} tracks` +
    (stats.dropped > 0 ? `, ${stats.dropped} dropped` : '')
  );
}

export async function streamCommand(args: StreamArgs, context: CliContext): Promise<number> {
  // yargs hands a lone '-' positional over as an empty string; '-' is the only way to get one here.
  const source = args.source === '' ? '-' : args.source;
  const config = loadConfig(args.config);
  const model = modelSelection(modelRequest(args), config);
  const s = config.stream;
  const signals = stopOnSignals((signal) => log(context, `${signal}: stopping, finishing outputs (press Ctrl-C again to quit at once)`));
  let lastStats = performance.now();
  try {
    const summary = await stream({
      source,
      ...(args.output !== undefined ? { output: args.output } : {}),
      ...(args.json !== undefined ? { json: args.json } : {}),
      ...(model ? { model: model.options } : {}),
      maxLatencyMs: args['max-latency'] ?? config.schedule.maxLatencyMs,
      live: {
        ...(args.format !== undefined ? { inputFormat: args.format } : {}),
        ...(args['input-options'] !== undefined ? { inputOptions: args['input-options'].split(/\s+/).filter((o) => o !== '') } : {}),
        ...(args.reconnect ? {} : { reconnect: false }),
        stallSeconds: args['stall-timeout'] ?? s.stallSeconds,
        giveUpSeconds: args['give-up'] ?? s.giveUpSeconds,
        initialDelaySeconds: s.reconnectInitialSeconds,
        maxDelaySeconds: s.reconnectMaxSeconds,
      },
      bufferMegabytes: s.bufferMegabytes,
      hud: args.hud && config.hud.enabled,
      style: config.render,
      preset: (args.preset as X264Preset | undefined) ?? config.encode.preset,
      crf: args.crf ?? config.encode.crf,
      overwrite: args.overwrite,
      stop: signals.stop,
      onModel: (backend, workers) => {
        log(context, model?.reason ?? '');
        log(context, `${backend}; ${workers} inference worker${workers === 1 ? '' : 's'}`);
      },
      onEvent: (event) => log(context, describeEvent(source, event)),
      onFrame: (_item, stats) => {
        const now = performance.now();
        if (now - lastStats >= s.statsIntervalSeconds * 1000) {
          lastStats = now;
          log(context, statsLine(stats));
        }
      },
    });
    const outputs = [args.output, args.json === '-' ? 'stdout' : args.json].filter((o) => o !== undefined).join(', ');
    const found = model ? `, ${summary.inferred} inferred, ${summary.instances} instances in ${summary.tracks} tracks` : '';
    log(
      context,
      `${summary.interrupted ? 'stopped after' : 'stream ended after'} ${summary.frames} frames${found} in ${summary.seconds.toFixed(1)} s ` +
        `(${summary.fps.toFixed(1)} fps, latency p50 ${Math.round(summary.latencyP50)} ms, p95 ${Math.round(summary.latencyP95)} ms` +
        `${summary.reconnects > 0 ? `, ${summary.reconnects} reconnects` : ''}${summary.dropped > 0 ? `, ${summary.dropped} dropped` : ''}) -> ${outputs}`,
    );
    return summary.interrupted ? 130 : 0;
  } finally {
    signals.dispose();
  }
}
