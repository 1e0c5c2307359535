/**
 * What tracking-sweep and miss-breakdown read: a clip's detections recorded by `annotate --json`, each frame beside
 * the same frame of the clip's ground truth (`dashseg synth clip`'s `.gt.jsonl`).
 */
import { parseFrameLines } from '../../src/eval/frame-lines';
import { readText } from '../../src/eval/evaluate';
import type { FrameRecord } from '../../src/output/frame-record';

export interface FrameWithTruth {
  /** The recorded detections' frame line. */
  record: FrameRecord;
  /** The ground truth of the same frame. */
  truth: FrameRecord;
}

/** Every recorded frame with its ground truth; a frame the ground truth lacks is an error naming its line. */
export function framesWithTruth(detectionsFile: string, truthFile: string): FrameWithTruth[] {
  const truthByFrame = new Map(parseFrameLines(readText(truthFile), truthFile).map(({ record }) => [record.frame, record]));
  return parseFrameLines(readText(detectionsFile), detectionsFile).map(({ record, line }) => {
    const truth = truthByFrame.get(record.frame);
    if (!truth) throw new Error(`${detectionsFile}:${line}: frame ${record.frame} is not in ${truthFile}`);
    return { record, truth };
  });
}

/** `<detections> <gt> [<detections> <gt> ...]` as pairs, or undefined when the files do not come in pairs. */
export function clipPairs(files: readonly string[]): [detections: string, truth: string][] | undefined {
  if (files.length === 0 || files.length % 2 !== 0) return undefined;
  return Array.from({ length: files.length / 2 }, (_, i) => [files[2 * i] as string, files[2 * i + 1] as string]);
}
