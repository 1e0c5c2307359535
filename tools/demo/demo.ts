/**
 * `npm run demo`: the README's first command. Annotates the sample clip that ships in samples/ with the default
 * model and prints where the results are and what was found.
 */
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { annotateOnTerminal } from '../../pipelines/annotate-on-terminal';
import { UserError, errorMessage } from '../../src/errors';
import { packageRoot } from '../../src/paths';
import { loadConfig } from '../../src/settings/config';
import { modelSelection } from '../../src/settings/model-selection';

const SAMPLE = join(packageRoot(), 'samples', 'synthetic-drive.mp4');

async function main(): Promise<number> {
  const out = resolve(process.argv[2] ?? join(process.cwd(), 'out', 'demo'));
  mkdirSync(out, { recursive: true });
  const config = loadConfig();
  const model = modelSelection({}, config);
  if (!model) throw new UserError('the config says --model none: the demo needs a model');
  const video = join(out, 'synthetic-drive.annotated.mp4');
  const json = join(out, 'synthetic-drive.jsonl');
  const summary = await annotateOnTerminal(
    {
      input: SAMPLE,
      output: video,
      json,
      model: model.options,
      preset: config.encode.preset,
      crf: config.encode.crf,
      style: config.render,
      bufferMegabytes: config.decode.bufferMegabytes,
    },
    { stderr: process.stderr, quiet: false },
    model.reason,
    config.progress.intervalSeconds,
  );
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
