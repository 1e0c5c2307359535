/**
 * How the tracker's settings and the score threshold move the tracking metrics of a clip, without running the model
 * again for each: the model's detections are recorded once, then replayed through the tracker with every setting.
 *
 *   node dist/tools/bench/tracking-sweep.js <detections.jsonl> <clip.gt.jsonl>
 *
 * `detections.jsonl` is `dashseg annotate <clip> --json <file> --score 0.3 --config <file with {"tracker":
 * {"minHits": 1, "maxAge": 0}}>`: with one hit to confirm and no memory, every detection is reported as it is. Tune on
 * a clip of its own seed, never on the held-out one the accuracy benchmark scores. Ground truth marked `ignore` is
 * an ignore region, as `dashseg eval` scores it.
 */
import { readFileSync } from 'node:fs';
import { groundTruthMasks, instanceRuns, parseFrameLines } from '../../src/eval/frame-lines';
import { rleToCrop } from '../../src/eval/mask-api';
import { TRACKING_IOU } from '../../src/eval/evaluate';
import type { BinaryMask } from '../../src/track/mask-iou';
import { TrackingEvaluator, type IdentifiedMask, type TrackingMetrics } from '../../src/track/metrics';
import { MaskTracker, TRACKER_DEFAULTS, type TrackDetection, type TrackInput, type TrackerConfig } from '../../src/track/tracker';

interface RecordedFrame {
  input: Omit<TrackInput, 'detections'>;
  detections: TrackDetection[];
  truth: IdentifiedMask[];
  ignored: BinaryMask[];
}

function load(detectionsFile: string, truthFile: string): RecordedFrame[] {
  const truthByFrame = new Map(parseFrameLines(readFileSync(truthFile, 'utf8'), truthFile).map(({ record }) => [record.frame, record]));
  return parseFrameLines(readFileSync(detectionsFile, 'utf8'), detectionsFile).map(({ record, line }) => {
    const truth = truthByFrame.get(record.frame);
    if (!truth) throw new Error(`${detectionsFile}:${line}: frame ${record.frame} is not in ${truthFile}`);
    return {
      input: { index: record.frame, pts: record.pts, width: record.width, height: record.height, inferred: record.inferred },
      detections: record.instances.map((instance) => ({
        box: instance.box,
        score: instance.score,
        classId: instance.classId,
        label: instance.label,
        mask: rleToCrop(instanceRuns(instance)),
      })),
      ...groundTruthMasks(truth, false),
    };
  });
}

function replay(frames: readonly RecordedFrame[], config: Partial<TrackerConfig>, score: number): TrackingMetrics {
  const tracker = new MaskTracker(config);
  const evaluator = new TrackingEvaluator({ iouThreshold: TRACKING_IOU });
  for (const frame of frames) {
    const reported = tracker.update({ ...frame.input, detections: frame.detections.filter((d) => d.score >= score) });
    evaluator.addFrame(frame.truth, reported.map((instance) => ({ id: instance.id, mask: instance.mask })), frame.ignored);
  }
  return evaluator.summary();
}

function main(): void {
  const [detectionsFile, truthFile] = process.argv.slice(2);
  if (detectionsFile === undefined || truthFile === undefined) {
    process.stderr.write('usage: tracking-sweep <detections.jsonl> <clip.gt.jsonl>\n');
    process.exit(2);
  }
  const frames = load(detectionsFile, truthFile);
  const grid: { score: number; config: Partial<TrackerConfig> }[] = [];
  for (const score of [0.4, 0.5, 0.6, 0.7]) {
    for (const minHits of [2, 3]) {
      for (const coast of [0, 2]) {
        for (const iouThreshold of [0.2, 0.3]) grid.push({ score, config: { minHits, coast, iouThreshold } });
      }
    }
  }
  process.stdout.write('| score | minHits | coast | iou | IDF1 | MOTA | ID switches | misses | false positives |\n|---|---|---|---|---|---|---|---|---|\n');
  const rows = grid.map(({ score, config }) => ({ score, config: { ...TRACKER_DEFAULTS, ...config }, metrics: replay(frames, config, score) }));
  rows.sort((a, b) => b.metrics.idf1 - a.metrics.idf1);
  for (const { score, config, metrics: m } of rows) {
    process.stdout.write(
      `| ${score} | ${config.minHits} | ${config.coast} | ${config.iouThreshold} | ${m.idf1.toFixed(3)} | ${m.mota.toFixed(3)} | ` +
        `${m.idSwitches} | ${m.misses} | ${m.falsePositives} |\n`,
    );
  }
}

main();
