/**
 * `npm run demo`: the README's first command. Annotates the sample clip that ships in samples/ with the default
 * model and prints where the results are and what was found.
 */
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { annotate } from '../../pipelines/annotate';
import { modelSelection } from '../../src/cli/model-flags';
import { ProgressReporter } from '../../src/cli/progress';
import { stopOnSignals } from '../../src/cli/signals';
import { loadConfig } from '../../src/config';
import { UserError, errorMessage } from '../../src/errors';
import { packageRoot } from '../../src/paths';

const SAMPLE = join(packageRoot(), 'samples', 'synthetic-drive.mp4');

async function main(): Promise<number> {
  const out = resolve(process.argv[2] ?? join(process.cwd(), 'out', 'demo'));
  mkdirSync(out, { recursive: true });
  const config = loadConfig();
  const model = modelSelection({}, config);
  if (!model) throw new UserError('the config says --model none: the demo needs a model');
  const video = join(out, 'synthetic-drive.annotated.mp4');
  const json = join(out, 'synthetic-drive.jsonl');
  process.stderr.write(`${model.reason}\n`);
  let progress: ProgressReporter | undefined;
  // Ctrl-C finishes the outputs (a playable mp4, whole JSON lines) like `dashseg annotate` does.
  const signals = stopOnSignals((signal) => {
    progress?.finish();
    process.stderr.write(`${signal}: stopping, finishing outputs (press Ctrl-C again to quit at once)\n`);
  });
  const summary = await annotate({
    input: SAMPLE,
    output: video,
    json,
    model: model.options,
    preset: config.encode.preset,
    crf: config.encode.crf,
    style: config.render,
    bufferMegabytes: config.decode.bufferMegabytes,
    stop: signals.stop,
    onModel: (backend, workers) => process.stderr.write(`${backend}; ${workers} inference worker${workers === 1 ? '' : 's'}\n`),
    onStart: (_info, expected, stats) => {
      progress = new ProgressReporter(process.stderr, stats.output, expected, config.progress.intervalSeconds);
    },
    onFrame: () => progress?.update(),
  }).finally(() => {
    progress?.finish();
    signals.dispose();
  });
  const here = (path: string): string => relative(process.cwd(), path) || '.';
  process.stdout.write(
    [
      `${summary.interrupted ? 'interrupted: ' : ''}annotated ${here(SAMPLE)}: ${summary.frames} frames in ${summary.seconds.toFixed(1)} s (${summary.fps.toFixed(1)} fps), ` +
        `model on ${summary.inferred}, ${summary.instances} instances in ${summary.tracks} tracks`,
      `video: ${here(video)}`,
      `json:  ${here(json)}`,
      `score it against the clip's ground truth: npx dashseg eval --gt samples/synthetic-drive.gt.jsonl --pred ${here(json)}`,
      '',
    ].join('\n'),
  );
  return summary.interrupted ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
