/**
 * `npm run bench:accuracy`: how good the bundled model is, on generated data it never saw. Held-out stills (a seed
 * never used in training) through `detect`, scored with COCO box and mask AP; a held-out clip through `annotate`
 * with `--every 1` and `--every 3`, scored with COCO AP over its frames and tracking metrics (IDF1, MOTA, ID
 * switches) against its ground-truth identities. Writes the `accuracy` section of docs/benchmarks.md.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { annotate } from '../../pipelines/annotate';
import { detect } from '../../pipelines/detect';
import { evaluateFiles, type EvalReport } from '../../src/eval/evaluate';
import { BUNDLED_DEFAULT, isModelDir, shippedModelDir } from '../../src/model/model-choice';
import { readModelConfig } from '../../src/model/model-dir';
import { writeClip, writeStillsDataset } from '../../src/synth';
import { machineLine, writeSection } from './report';

/** Training used seed 1 (tools/train/train_synth.py's documented command); these were never generated for it. */
const STILLS_SEED = 9001;
const STILLS = Number(process.env.ACCURACY_STILLS ?? 200);
const CLIP_SEED = 9002;
const CLIP_SECONDS = 15;
const SCORE = 0.5;
const MODEL = shippedModelDir(BUNDLED_DEFAULT);

const pct = (value: number | undefined): string => (value === undefined || value < 0 || !Number.isFinite(value) ? 'n/a' : value.toFixed(3));

async function stills(work: string): Promise<{ report: EvalReport; seconds: number }> {
  const dataset = join(work, 'stills');
  await writeStillsDataset({ out: dataset, count: STILLS, seed: STILLS_SEED, width: 640, height: 360 });
  const images = readdirSync(join(dataset, 'images')).sort().map((name) => join(dataset, 'images', name));
  const pred = join(work, 'stills.jsonl');
  const started = performance.now();
  await detect({ images, modelDir: MODEL, score: 0.05, json: pred });
  const seconds = (performance.now() - started) / 1000;
  return { report: evaluateFiles({ gt: join(dataset, 'annotations.json'), pred, iouTypes: ['segm', 'bbox'] }), seconds };
}

async function clip(work: string, every: number): Promise<{ report: EvalReport; fps: number }> {
  const video = join(work, 'clip.mp4');
  const gt = join(work, 'clip.gt.jsonl');
  const pred = join(work, `clip.every${every}.jsonl`);
  const summary = await annotate({ input: video, json: pred, model: { dir: MODEL, score: SCORE, every } });
  return { report: evaluateFiles({ gt, pred, iouTypes: ['segm', 'bbox'] }), fps: summary.fps };
}

function section(still: { report: EvalReport; seconds: number }, clips: { every: number; report: EvalReport; fps: number }[]): string {
  const config = readModelConfig(MODEL);
  const segm = still.report.coco.segm?.stats;
  const bbox = still.report.coco.bbox?.stats;
  const lines = [
    '## Accuracy',
    '',
    `${machineLine()}. Model: \`weights/dashseg-synth\` (${config.weights.parameters.toLocaleString('en-US')} parameters, ` +
      `${config.weights.dtype}, input ${config.transform.minSize}/${config.transform.maxSize}), wasm backend. Command: \`npm run bench:accuracy\`.`,
    '',
    `**Held-out stills**: ${STILLS} generated 640x360 images, seed ${STILLS_SEED} (training used seed 1), ` +
      `${still.report.groundTruths} objects; \`dashseg detect --score 0.05\` (COCO scores all detections), ` +
      `${(still.seconds / STILLS).toFixed(2)} s per image.`,
    '',
    '| | AP | AP50 | AP75 | APs | APm | APl | AR100 |',
    '|---|---|---|---|---|---|---|---|',
    ...(
      [
        ['mask', segm],
        ['box', bbox],
      ] as const
    ).map(([name, s]) => `| ${name} | ${pct(s?.AP)} | ${pct(s?.AP50)} | ${pct(s?.AP75)} | ${pct(s?.APs)} | ${pct(s?.APm)} | ${pct(s?.APl)} | ${pct(s?.AR100)} |`),
    '',
    'Per class (mask AP50 / box AP50, objects):',
    '',
    '| class | objects | mask AP50 | box AP50 |',
    '|---|---|---|---|',
    ...(still.report.coco.segm?.perCategory ?? []).map((c) => {
      const box = still.report.coco.bbox?.perCategory.find((b) => b.id === c.id);
      return `| ${c.name} | ${c.groundTruths} | ${pct(c.AP50)} | ${pct(box?.AP50)} |`;
    }),
    '',
    `**Held-out clip**: ${CLIP_SECONDS} s at 960x540, 25 fps, seed ${CLIP_SEED}; \`dashseg annotate --score ${SCORE}\`; tracking ` +
      'metrics class-agnostic, a match being mask IoU >= 0.5.',
    '',
    '| schedule | IDF1 | MOTA | ID switches | fragmentations | misses | false positives | mask AP50 | pipeline fps |',
    '|---|---|---|---|---|---|---|---|---|',
    ...clips.map(({ every, report, fps }) => {
      const t = report.tracking;
      return `| --every ${every} | ${pct(t?.idf1)} | ${pct(t?.mota)} | ${t?.idSwitches ?? '-'} | ${t?.fragmentations ?? '-'} | ${t?.misses ?? '-'} | ` +
        `${t?.falsePositives ?? '-'} | ${pct(report.coco.segm?.stats.AP50)} | ${fps.toFixed(1)} |`;
    }),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!isModelDir(MODEL)) throw new Error(`${MODEL} is missing`);
  const work = mkdtempSync(join(tmpdir(), 'dashseg-bench-accuracy-'));
  try {
    process.stderr.write(`held-out stills (${STILLS})...\n`);
    const still = await stills(work);
    process.stderr.write('held-out clip...\n');
    await writeClip({ output: join(work, 'clip.mp4'), seconds: CLIP_SECONDS, seed: CLIP_SEED });
    const clips: { every: number; report: EvalReport; fps: number }[] = [];
    for (const every of [1, 3]) clips.push({ every, ...(await clip(work, every)) });
    const markdown = section(still, clips);
    writeSection('accuracy', markdown);
    process.stdout.write(`${markdown}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:accuracy failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
