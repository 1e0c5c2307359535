import type { Detection } from '../../src/model/mask-rcnn';
import { type TorchvisionReference, compareWithReference, describeParity, parityFailures } from '../../tools/parity/reference';

export { readCroppedReference, readReference } from '../../tools/parity/reference';

/**
 * Expects the same detections at or above `minScore` both ways (95% matched by class and box IoU > 0.9), and over
 * the matches scores within 0.01, box corners within 1 px and mask IoU >= 0.95. Returns how many matched.
 */
export function expectParity(detections: readonly Detection[], expected: TorchvisionReference, minScore = 0.3, label = ''): number {
  const report = compareWithReference(detections, expected, minScore);
  if (label !== '') console.log(`${label}: ${describeParity(report)}`);
  expect(parityFailures(report)).toEqual([]);
  return report.matched;
}
