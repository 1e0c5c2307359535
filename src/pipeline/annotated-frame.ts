import type { InstanceRecord } from '../output/frame-record';
import type { DecodedFrame } from '../video/decode';

/**
 * A decoded frame with what is known about it: the unit every stage after decoding passes along. Frames the model
 * did not run on still flow, with `inferred: false`, so every output keeps one entry per source frame.
 */
export interface AnnotatedFrame {
  readonly frame: DecodedFrame;
  readonly inferred: boolean;
  readonly instances: readonly InstanceRecord[];
}

export function unannotated(frame: DecodedFrame): AnnotatedFrame {
  return { frame, inferred: false, instances: [] };
}
