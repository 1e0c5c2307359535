import { log, type Terminal } from '../src/terminal/log';
import { ProgressReporter } from '../src/terminal/progress';
import { stopOnSignals } from '../src/terminal/signals';
import { annotate, type AnnotateOptions, type AnnotateSummary } from './annotate';

/**
 * `annotate` as the command runs it, for the CLI and `npm run demo`: which model and why, the input, progress on
 * stderr, and a first SIGINT/SIGTERM that finishes the outputs (a playable video, whole JSON lines) instead of
 * abandoning them.
 */
export async function annotateOnTerminal(
  options: Omit<AnnotateOptions, 'stop' | 'onModel' | 'onStart' | 'onFrame'>,
  terminal: Terminal,
  modelReason: string | undefined,
  progressIntervalSeconds: number,
): Promise<AnnotateSummary> {
  let progress: ProgressReporter | undefined;
  const signals = stopOnSignals((signal) => {
    progress?.finish();
    log(terminal, `${signal}: stopping, finishing outputs (press Ctrl-C again to quit at once)`);
  });
  try {
    return await annotate({
      ...options,
      stop: signals.stop,
      onModel: (backend, workers) => {
        log(terminal, modelReason ?? '');
        log(terminal, `${backend}; ${workers} inference worker${workers === 1 ? '' : 's'}`);
      },
      onStart: (info, expected, stats) => {
        const timing = info.variableFrameRate ? `variable rate, ~${info.fps.toFixed(2)} fps` : `${info.fps.toFixed(2)} fps`;
        log(terminal, `${info.source}: ${info.width}x${info.height} ${info.videoCodec}, ${timing}` +
          `${info.duration !== undefined ? `, ${info.duration.toFixed(2)} s` : ''}${info.hasAudio ? `, audio ${info.audioCodec ?? ''}` : ''}`);
        if (!terminal.quiet) progress = new ProgressReporter(terminal.stderr, stats.output, expected, progressIntervalSeconds);
      },
      onFrame: () => progress?.update(),
    });
  } finally {
    progress?.finish();
    signals.dispose();
  }
}
