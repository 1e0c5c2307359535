/**
 * Why objects of a clip are missed, frame by frame: for each scored ground-truth object-frame, the best the model's
 * detections offer, by class. The detections are recorded as for tools/bench/tracking-sweep.ts, down to a low score:
 *
 *   node dist/tools/bench/miss-breakdown.js <detections.jsonl> <clip.gt.jsonl> [--score S]
 *
 * Each object-frame falls in the first of these that holds (mask IoU against any detection, of any class, as the
 * tracking metrics match):
 * - found: a detection scoring >= S (default 0.5) with mask IoU >= 0.5;
 * - box only: a detection scoring >= S whose box has IoU >= 0.5 but whose mask does not;
 * - low score: a detection with mask IoU >= 0.5, scoring under S;
 * - near: a detection with mask IoU 0.3 to 0.5;
 * - not found.
 * Ground truth marked `ignore` is left out, as `dashseg eval` scores it.
 */
import { instanceRuns, isIgnored, parseFrameLines } from '../../src/eval/frame-lines';
import { rleToCrop } from '../../src/eval/mask-api';
import { TRACKING_IOU, readText } from '../../src/eval/evaluate';
import { errorMessage } from '../../src/errors';
import { boxIoU, maskIoU, type Box } from '../../src/track/mask-iou';

const OUTCOMES = ['found', 'box only', 'low score', 'near', 'not found'] as const;
type Outcome = (typeof OUTCOMES)[number];
const NEAR_IOU = 0.3;

function outcome(best: { mask: number; box: number; lowMask: number }): Outcome {
  if (best.mask >= TRACKING_IOU) return 'found';
  if (best.box >= TRACKING_IOU) return 'box only';
  if (best.lowMask >= TRACKING_IOU) return 'low score';
  if (Math.max(best.mask, best.lowMask) >= NEAR_IOU) return 'near';
  return 'not found';
}

function main(): void {
  const args = process.argv.slice(2);
  const scoreAt = args.indexOf('--score');
  const score = scoreAt >= 0 ? Number(args.splice(scoreAt, 2)[1]) : 0.5;
  const [detectionsFile, truthFile] = args;
  if (detectionsFile === undefined || truthFile === undefined || !(score >= 0 && score <= 1)) {
    process.stderr.write('usage: miss-breakdown <detections.jsonl> <clip.gt.jsonl> [--score S]\n');
    process.exit(2);
  }
  const truth = new Map(parseFrameLines(readText(truthFile), truthFile).map(({ record }) => [record.frame, record]));
  const counts = new Map<string, Map<Outcome, number>>();
  const count = (row: string, what: Outcome): void => {
    const byOutcome = counts.get(row) ?? new Map<Outcome, number>();
    byOutcome.set(what, (byOutcome.get(what) ?? 0) + 1);
    counts.set(row, byOutcome);
  };
  for (const { record, line } of parseFrameLines(readText(detectionsFile), detectionsFile)) {
    const frameTruth = truth.get(record.frame);
    if (!frameTruth) throw new Error(`${detectionsFile}:${line}: frame ${record.frame} is not in ${truthFile}`);
    const detections = record.instances.map((d) => ({ score: d.score, box: d.box as Box, mask: rleToCrop(instanceRuns(d)) }));
    for (const object of frameTruth.instances) {
      if (isIgnored(object, false)) continue;
      const mask = rleToCrop(instanceRuns(object));
      const best = { mask: 0, box: 0, lowMask: 0 };
      for (const d of detections) {
        const iou = maskIoU(mask, d.mask);
        if (d.score < score) {
          best.lowMask = Math.max(best.lowMask, iou);
          continue;
        }
        best.mask = Math.max(best.mask, iou);
        best.box = Math.max(best.box, boxIoU(object.box as Box, d.box));
      }
      const what = outcome(best);
      count('all', what);
      count(object.label, what);
    }
  }
  process.stdout.write(`| class | object-frames | ${OUTCOMES.join(' | ')} |\n|${'---|'.repeat(2 + OUTCOMES.length)}\n`);
  for (const [row, byOutcome] of counts) {
    const total = [...byOutcome.values()].reduce((sum, n) => sum + n, 0);
    const shares = OUTCOMES.map((what) => `${(((byOutcome.get(what) ?? 0) / total) * 100).toFixed(0)}%`);
    process.stdout.write(`| ${row} | ${total} | ${shares.join(' | ')} |\n`);
  }
}

// Bad input (a missing file, a line that is not the frame contract) is one line, as from the CLI.
try {
  main();
} catch (error) {
  process.stderr.write(`miss-breakdown: ${errorMessage(error)}\n`);
  process.exit(1);
}
