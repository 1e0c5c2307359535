import { join } from 'node:path';
import { convertCheckpoint } from '../../src/model/model-dir';

/** The tiny seeded torchvision Mask R-CNN and its references (tools/fixtures/make_maskrcnn_fixtures.py). */
export const TINY_FIXTURES = join(__dirname, '..', 'fixtures', 'maskrcnn');

/** Convert the tiny checkpoint into a model directory at the sizes torchvision ran it with (96/160). */
export function convertTinyModel(out: string): void {
  convertCheckpoint(join(TINY_FIXTURES, 'tiny.pt'), { out, labels: join(TINY_FIXTURES, 'labels.txt'), minSize: 96, maxSize: 160 });
}
