/**
 * Why objects of a clip are missed, frame by frame: for each scored ground-truth object-frame, the best the model's
 * detections offer, by class (or by the object's height, or by whether the image border cuts it). The detections
 * are recorded as for tools/bench/tracking-sweep.ts, down to a low score:
 *
 *   node dist/tools/bench/miss-breakdown.js [--score S] [--by class|height|border] <detections.jsonl> <clip.gt.jsonl>
 *       [<detections.jsonl> <clip.gt.jsonl> ...]
 *
 * Several clips are counted together.
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
import { instanceRuns, isIgnored } from '../../src/eval/frame-lines';
import { rleToCrop } from '../../src/eval/mask-api';
import { TRACKING_IOU } from '../../src/eval/evaluate';
import { errorMessage } from '../../src/errors';
import type { FrameRecord, InstanceRecord } from '../../src/output/frame-record';
import { boxIoU, maskIoU, type Box } from '../../src/track/mask-iou';
import { clipPairs, framesWithTruth } from './recording';

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

/** Each scored ground-truth object-frame of a clip, with its frame and what the detections offer it. */
function* objectFrames(
  detectionsFile: string,
  truthFile: string,
  score: number,
): Generator<{ object: InstanceRecord; frame: FrameRecord; what: Outcome }> {
  for (const { record, truth: frameTruth } of framesWithTruth(detectionsFile, truthFile)) {
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
      yield { object, frame: record, what: outcome(best) };
    }
  }
}

/** Box heights in pixels where one row of `--by height` ends and the next begins: each twice the one before. */
const HEIGHT_EDGES = [24, 48, 96, 192];
const HEIGHT_ROWS = ['< 24 px', ...HEIGHT_EDGES.slice(1).map((edge, i) => `${HEIGHT_EDGES[i]}-${edge} px`), `>= 192 px`];

/** How object-frames are grouped into rows: the row an object falls in, and the rows' order where it is fixed. */
const GROUPINGS = {
  class: { rowOf: (object: InstanceRecord): string => object.label, order: undefined },
  height: {
    rowOf: (object: InstanceRecord): string => {
      const bucket = HEIGHT_EDGES.findIndex((edge) => object.box[3] - object.box[1] < edge);
      return HEIGHT_ROWS[bucket < 0 ? HEIGHT_EDGES.length : bucket] as string;
    },
    order: HEIGHT_ROWS,
  },
  border: {
    rowOf: (object: InstanceRecord, frame: FrameRecord): string => {
      const [x1, y1, x2, y2] = object.box;
      return x1 <= 0 || y1 <= 0 || x2 >= frame.width || y2 >= frame.height ? 'cut by the border' : 'inside';
    },
    order: ['inside', 'cut by the border'],
  },
} as const;
type Grouping = keyof typeof GROUPINGS;

function isGrouping(name: string | undefined): name is Grouping {
  return name !== undefined && Object.hasOwn(GROUPINGS, name);
}

function main(): void {
  const args = process.argv.slice(2);
  const scoreAt = args.indexOf('--score');
  const score = scoreAt >= 0 ? Number(args.splice(scoreAt, 2)[1]) : 0.5;
  const byAt = args.indexOf('--by');
  const by = byAt >= 0 ? args.splice(byAt, 2)[1] : 'class';
  const pairs = clipPairs(args);
  if (!pairs || !(score >= 0 && score <= 1) || !isGrouping(by)) {
    process.stderr.write(
      'usage: miss-breakdown [--score S] [--by class|height|border] <detections.jsonl> <clip.gt.jsonl> [<detections.jsonl> <clip.gt.jsonl> ...]\n',
    );
    process.exit(2);
  }
  const grouping = GROUPINGS[by];
  const all = new Map<Outcome, number>();
  const counts = new Map<string, Map<Outcome, number>>();
  const tally = (byOutcome: Map<Outcome, number>, what: Outcome): void => {
    byOutcome.set(what, (byOutcome.get(what) ?? 0) + 1);
  };
  for (const [detections, truth] of pairs) {
    for (const { object, frame, what } of objectFrames(detections, truth, score)) {
      const row = grouping.rowOf(object, frame);
      const byOutcome = counts.get(row) ?? new Map<Outcome, number>();
      counts.set(row, byOutcome);
      tally(all, what);
      tally(byOutcome, what);
    }
  }
  const order: readonly string[] | undefined = grouping.order;
  const rows = [...counts];
  if (order) rows.sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
  rows.unshift(['all', all]);
  process.stdout.write(`| ${by} | object-frames | ${OUTCOMES.join(' | ')} |\n|${'---|'.repeat(2 + OUTCOMES.length)}\n`);
  for (const [row, byOutcome] of rows) {
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
