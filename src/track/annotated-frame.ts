import type { DecodedFrame } from '../video/decode';
import type { BinaryMask } from './mask-iou';

/** One instance on one frame: what is drawn and what the JSON reports (its mask still a crop, not yet RLE). */
export interface FrameInstance {
  /** Track id, stable across frames; null where no tracker ran. */
  readonly id: number | null;
  readonly classId: number;
  readonly label: string;
  /** Detector score; on carried frames, that of the last frame the model ran on. */
  readonly score: number;
  readonly box: readonly [number, number, number, number];
  readonly mask: BinaryMask;
  /** The tracker's estimate of the object's motion, pixels per second. */
  readonly velocity?: readonly [number, number];
  /** Ground truth only (`dashseg synth`): an object too small to score, which evaluation neither credits nor misses. */
  readonly ignore?: boolean;
}

/**
 * A decoded frame with what is known about it: the unit every stage after inference passes along. Frames the model
 * did not run on still flow, with `inferred: false`, so every output keeps one entry per source frame.
 */
export interface AnnotatedFrame<F extends DecodedFrame = DecodedFrame> {
  readonly frame: F;
  readonly inferred: boolean;
  /** By descending score. */
  readonly instances: readonly FrameInstance[];
  /** Milliseconds the model took, on inferred frames. */
  readonly modelMs?: number;
  /** Seconds since the previous frame, on the first frame after the source had a gap (a live source reconnected). */
  readonly gapSeconds?: number;
  /** Frames the source delivered just before this one that were discarded unseen (the pipeline was full). */
  readonly dropped?: number;
}

export function unannotated<F extends DecodedFrame>(frame: F): AnnotatedFrame<F> {
  return { frame, inferred: false, instances: [] };
}
