/**
 * How the tracker's settings and the score threshold move the tracking metrics of clips, without running the model
 * again for each: the model's detections are recorded once per clip, then replayed through the tracker with every
 * setting. This is how a model's operating point (`weights convert --default-score --default-track-iou`) is chosen.
 *
 *   node dist/tools/bench/tracking-sweep.js [--every N] <detections.jsonl> <clip.gt.jsonl> [<detections> <gt> ...]
 *
 * `detections.jsonl` is `dashseg annotate <clip> --json <file> --score 0.3 --config <file with {"tracker":
 * {"minHits": 1, "maxAge": 0}}>`: with one hit to confirm and no memory, every detection is reported as it is.
 * `--every N` replays the model running on every N-th frame only, as `annotate --every N` does; `--no-backfill` leaves
 * out tracks' frames before confirmation, as `annotate` does with `"backfill": false` (see src/track/backfill.ts). Rows are sorted
 * by the mean IDF1 over the clips. Tune on clips of their own seeds, never on the held-out one the accuracy benchmark
 * scores. Ground truth marked `ignore` is an ignore region, as `dashseg eval` scores it.
 */
import { groundTruthMasks, instanceRuns } from '../../src/eval/frame-lines';
import { rleToCrop } from '../../src/eval/mask-api';
import { TRACKING_IOU } from '../../src/eval/evaluate';
import { errorMessage } from '../../src/errors';
import type { BinaryMask } from '../../src/track/mask-iou';
import { TrackingEvaluator, type IdentifiedMask, type TrackingMetrics } from '../../src/track/metrics';
import { TentativeBackfill, type DecidedFrame } from '../../src/track/backfill';
import { MaskTracker, TRACKER_DEFAULTS, type TrackDetection, type TrackInput, type TrackerConfig } from '../../src/track/tracker';
import { clipPairs, framesWithTruth } from './recording';

interface RecordedFrame {
  input: Omit<TrackInput, 'detections'>;
  detections: TrackDetection[];
  truth: IdentifiedMask[];
  ignored: BinaryMask[];
}

function load(detectionsFile: string, truthFile: string): RecordedFrame[] {
  return framesWithTruth(detectionsFile, truthFile).map(({ record, truth }) => ({
    input: { index: record.frame, pts: record.pts, width: record.width, height: record.height, inferred: record.inferred },
    detections: record.instances.map((instance) => ({
      box: instance.box,
      score: instance.score,
      classId: instance.classId,
      label: instance.label,
      mask: rleToCrop(instanceRuns(instance)),
    })),
    ...groundTruthMasks(truth, false),
  }));
}

/** The tracker over a recording, as `annotate` runs it: with backfill unless `backfill` is false. */
function replay(frames: readonly RecordedFrame[], config: Partial<TrackerConfig>, minScore: number, backfill: boolean): TrackingMetrics {
  const tracker = new MaskTracker(backfill ? { ...config, reportTentative: true } : config);
  // A recording is whole: nothing bounds how many frames the backfill may hold. Without backfill the tracker
  // reports no tentative track, so holding none passes each frame through as it is.
  const held = new TentativeBackfill<RecordedFrame>(backfill ? Infinity : 0);
  const evaluator = new TrackingEvaluator({ iouThreshold: TRACKING_IOU });
  const score = (decided: DecidedFrame<RecordedFrame>[]): void => {
    for (const { item, instances } of decided) {
      evaluator.addFrame(item.truth, instances.map((instance) => ({ id: instance.id, mask: instance.mask })), item.ignored);
    }
  };
  for (const frame of frames) {
    score(held.push(frame, tracker.update({ ...frame.input, detections: frame.detections.filter((d) => d.score >= minScore) })));
  }
  score(held.flush());
  return evaluator.summary();
}

/** A recording made with the model on every frame, as if it had run on every `every`-th only (the first included). */
function everyNth(frames: readonly RecordedFrame[], every: number): RecordedFrame[] {
  return frames.map((frame, i) => (i % every === 0 ? frame : { ...frame, input: { ...frame.input, inferred: false }, detections: [] }));
}

function main(): void {
  const args = process.argv.slice(2);
  let every = 1;
  let backfill = true;
  for (;;) {
    if (args[0] === '--every') {
      every = Number(args[1]);
      args.splice(0, 2);
    } else if (args[0] === '--no-backfill') {
      backfill = false;
      args.splice(0, 1);
    } else break;
  }
  const pairs = clipPairs(args);
  if (!pairs || !(Number.isInteger(every) && every >= 1)) {
    process.stderr.write(
      'usage: tracking-sweep [--every N] [--no-backfill] <detections.jsonl> <clip.gt.jsonl> [<detections.jsonl> <clip.gt.jsonl> ...]\n',
    );
    process.exit(2);
  }
  const clips = pairs.map(([detections, truth]) => everyNth(load(detections, truth), every));
  const grid: { score: number; config: Partial<TrackerConfig> }[] = [];
  for (const score of [0.5, 0.6, 0.7, 0.8]) {
    for (const minHits of [2, 3]) {
      for (const coast of [0, 2]) {
        for (const iouThreshold of [0.2, 0.3]) grid.push({ score, config: { minHits, coast, iouThreshold } });
      }
    }
  }
  const rows = grid.map(({ score, config }) => {
    const metrics = clips.map((frames) => replay(frames, config, score, backfill));
    const mean = (pick: (m: TrackingMetrics) => number): number => metrics.reduce((sum, m) => sum + pick(m), 0) / metrics.length;
    return { score, config: { ...TRACKER_DEFAULTS, ...config }, metrics, idf1: mean((m) => m.idf1), mota: mean((m) => m.mota) };
  });
  rows.sort((a, b) => b.idf1 - a.idf1);
  const perClip = clips.map((_, c) => `IDF1 clip ${c + 1}`);
  process.stdout.write(
    `| score | minHits | coast | iou | mean IDF1 | mean MOTA | ${perClip.join(' | ')} |\n|${'---|'.repeat(6 + clips.length)}\n`,
  );
  for (const { score, config, metrics, idf1, mota } of rows) {
    process.stdout.write(
      `| ${score} | ${config.minHits} | ${config.coast} | ${config.iouThreshold} | ${idf1.toFixed(3)} | ${mota.toFixed(3)} | ` +
        `${metrics.map((m) => m.idf1.toFixed(3)).join(' | ')} |\n`,
    );
  }
}

// Bad input (a missing file, a line that is not the frame contract) is one line, as from the CLI.
try {
  main();
} catch (error) {
  process.stderr.write(`tracking-sweep: ${errorMessage(error)}\n`);
  process.exit(1);
}
