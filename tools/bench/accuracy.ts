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
import type { SummaryStats } from '../../src/eval/coco-eval';
import { evaluateFiles, type EvalReport } from '../../src/eval/evaluate';
import { parseBackendName } from '../../src/model/backend';
import { BUNDLED_DEFAULT, isModelDir, shippedModelDir } from '../../src/model/model-choice';
import { readModelConfig, type OperatingPoint } from '../../src/model/model-dir';
import { loadConfig } from '../../src/settings/config';
import { GENERIC_OPERATING_POINT, operatingPoint } from '../../src/settings/operating-point';
import { writeClip, writeStillsDataset } from '../../src/synth';
import { machineLine, writeSection } from './report';

/** Training used seeds 1 to 3 and 100 to 261 (tools/train/train_synth.py's documented commands); these were never generated for it. */
const STILLS_SEED = 9001;
const STILLS = Number(process.env.ACCURACY_STILLS ?? 200);
/** The size the training stills were generated at (and the sample clip's): the model sees scenes at their native detail. */
const STILLS_SIZE = { width: 960, height: 540 };
const CLIP_SEED = 9002;
const CLIP_SECONDS = 15;
const MODEL = shippedModelDir(BUNDLED_DEFAULT);
/** `ACCURACY_BACKEND=wasm` scores the other engine; its figures must agree within the parity tolerances. */
const BACKEND = parseBackendName(process.env.ACCURACY_BACKEND ?? 'auto');
/** The backend line of the runs, for the section's header. */
let backendLine = '';
/** What `annotate` runs with when the user sets nothing. */
const DEFAULTS = loadConfig();
/** What `annotate` runs the model at when the user sets nothing: its calibrated operating point. */
const AS_SHIPPED = operatingPoint({}, { score: 'model', trackIou: 'model' }, readModelConfig(MODEL));

const pct = (value: number | undefined): string => (value === undefined || value < 0 || !Number.isFinite(value) ? 'n/a' : value.toFixed(3));

/**
 * The same predictions scored twice: with the generator's ignore regions (objects under 100 visible pixels count
 * neither way, as Cityscapes ignores them and COCO its crowds), and with every object scored (`--score-ignored`).
 */
interface Scored {
  report: EvalReport;
  everyObject: EvalReport;
}

function score(gt: string, pred: string): Scored {
  const iouTypes = ['segm', 'bbox'] as const;
  return { report: evaluateFiles({ gt, pred, iouTypes }), everyObject: evaluateFiles({ gt, pred, iouTypes, scoreIgnored: true }) };
}

async function stills(work: string): Promise<Scored & { seconds: number }> {
  const dataset = join(work, 'stills');
  await writeStillsDataset({ out: dataset, count: STILLS, seed: STILLS_SEED, ...STILLS_SIZE });
  const images = readdirSync(join(dataset, 'images')).sort().map((name) => join(dataset, 'images', name));
  const pred = join(work, 'stills.jsonl');
  const started = performance.now();
  await detect({ images, modelDir: MODEL, score: 0.05, json: pred, backend: BACKEND, onBackend: (line) => (backendLine = line) });
  const seconds = (performance.now() - started) / 1000;
  return { ...score(join(dataset, 'annotations.json'), pred), seconds };
}

interface ClipRun {
  every: number;
  point: Readonly<Required<OperatingPoint>>;
}

async function clip(work: string, { every, point }: ClipRun): Promise<Scored & { fps: number }> {
  const video = join(work, 'clip.mp4');
  const gt = join(work, 'clip.gt.jsonl');
  const pred = join(work, `clip.every${every}.score${point.score}.jsonl`);
  const summary = await annotate({
    input: video,
    json: pred,
    model: { dir: MODEL, backend: BACKEND, score: point.score, every, tracker: { iouThreshold: point.trackIou }, backfill: DEFAULTS.tracker.backfill },
  });
  return { ...score(gt, pred), fps: summary.fps };
}

const flagsOf = (point: ClipRun['point']): string => `--score ${point.score} --track-iou ${point.trackIou}`;

function section(still: Scored & { seconds: number }, clips: (Scored & ClipRun & { fps: number })[]): string {
  const config = readModelConfig(MODEL);
  const statsRow = (name: string, s: SummaryStats | undefined): string =>
    `| ${name} | ${pct(s?.AP)} | ${pct(s?.AP50)} | ${pct(s?.AP75)} | ${pct(s?.APs)} | ${pct(s?.APm)} | ${pct(s?.APl)} | ${pct(s?.AR100)} |`;
  const ap50 = (report: EvalReport, type: 'segm' | 'bbox', id: number): string => pct(report.coco[type]?.perCategory.find((c) => c.id === id)?.AP50);
  const lines = [
    '## Accuracy',
    '',
    `${machineLine()}. Model: \`weights/dashseg-synth\` (${config.weights.parameters.toLocaleString('en-US')} parameters, ` +
      `${config.weights.dtype}, input ${config.transform.minSize}/${config.transform.maxSize}), ${backendLine.split(';')[0]}. Command: ` +
      `${BACKEND === 'auto' ? '' : `ACCURACY_BACKEND=${BACKEND} `}\`npm run bench:accuracy\`.`,
    '',
    `**Held-out stills**: ${STILLS} generated ${STILLS_SIZE.width}x${STILLS_SIZE.height} images, seed ${STILLS_SEED} (training used seeds 1 to 3 and 100 to 261), ` +
      `${still.report.groundTruths} objects and ${still.report.ignoreRegions} ignore regions (objects under 100 visible pixels); ` +
      `\`dashseg detect --score 0.05\` (COCO scores all detections), ${(still.seconds / STILLS).toFixed(2)} s per image. ` +
      '"every object" scores the ignore regions as objects too (`dashseg eval --score-ignored`).',
    '',
    '| | AP | AP50 | AP75 | APs | APm | APl | AR100 |',
    '|---|---|---|---|---|---|---|---|',
    statsRow('mask', still.report.coco.segm?.stats),
    statsRow('box', still.report.coco.bbox?.stats),
    statsRow('mask, every object', still.everyObject.coco.segm?.stats),
    statsRow('box, every object', still.everyObject.coco.bbox?.stats),
    '',
    'Per class (AP50):',
    '',
    '| class | objects | mask | box | objects, every object | mask, every object | box, every object |',
    '|---|---|---|---|---|---|---|',
    ...(still.report.coco.segm?.perCategory ?? []).map((c) => {
      const all = still.everyObject.coco.segm?.perCategory.find((b) => b.id === c.id);
      return `| ${c.name} | ${c.groundTruths} | ${pct(c.AP50)} | ${ap50(still.report, 'bbox', c.id)} | ${all?.groundTruths ?? '-'} | ` +
        `${ap50(still.everyObject, 'segm', c.id)} | ${ap50(still.everyObject, 'bbox', c.id)} |`;
    }),
    '',
    `**Held-out clip**: ${CLIP_SECONDS} s at 960x540, 25 fps, seed ${CLIP_SEED}; \`dashseg annotate\` with the model's operating ` +
      `point (\`${flagsOf(AS_SHIPPED)}\`, what it runs at unless told otherwise) and, for comparison, ` +
      `the generic one (\`${flagsOf(GENERIC_OPERATING_POINT)}\`); tracking metrics class-agnostic, a match being ` +
      'mask IoU >= 0.5.',
    '',
    '| schedule | settings | objects | IDF1 | MOTA | ID switches | fragmentations | misses | false positives | mask AP50 | pipeline fps |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...clips.flatMap(({ every, point, report, everyObject, fps }) =>
      (
        [
          ['>= 100 px', report],
          ['every object', everyObject],
        ] as const
      ).map(([objects, r]) => {
        const t = r.tracking;
        return `| --every ${every} | \`${flagsOf(point)}\` | ${objects} | ${pct(t?.idf1)} | ${pct(t?.mota)} | ${t?.idSwitches ?? '-'} | ${t?.fragmentations ?? '-'} | ` +
          `${t?.misses ?? '-'} | ${t?.falsePositives ?? '-'} | ${pct(r.coco.segm?.stats.AP50)} | ${fps.toFixed(1)} |`;
      }),
    ),
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
    const runs: ClipRun[] = [
      { every: 1, point: AS_SHIPPED },
      { every: 3, point: AS_SHIPPED },
      { every: 1, point: GENERIC_OPERATING_POINT },
      { every: 3, point: GENERIC_OPERATING_POINT },
    ];
    const clips: (Scored & ClipRun & { fps: number })[] = [];
    for (const run of runs) clips.push({ ...run, ...(await clip(work, run)) });
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
