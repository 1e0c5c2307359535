/**
 * src/eval against pycocotools itself: test/fixtures/eval/coco-random.json holds a seeded data set (compressed,
 * uncompressed and polygon ground truth, crowds, ties, >100 detections in an image, empty images, a category with no
 * annotations) and the numbers pycocotools' COCOeval computes for it (tools/fixtures/make_coco_fixtures.py). They must
 * agree exactly, to the last bit: same IoUs, same matches, same float operations in the same order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCocoInstances } from '../../src/eval/coco-dataset';
import { cocoEvaluate, SUMMARY_NAMES, type DetectionResult, type IouType } from '../../src/eval/coco-eval';
import { evaluateFiles } from '../../src/eval/evaluate';
import { xyxyToXywh } from '../../src/eval/frame-lines';
import { rleCounts, type CocoRle } from '../../src/output/rle';
import { tempDir } from '../support/media';

interface Fixture {
  generator: { pycocotools: string; numpy: string };
  gt: unknown;
  results: { image_id: number; category_id: number; score: number; box: number[]; bbox: number[]; segmentation: CocoRle }[];
  expected: Record<IouType, { stats: number[]; perCategory: Record<string, [number, number]> }>;
}

const FIXTURE = join(__dirname, '..', 'fixtures', 'eval', 'coco-random.json');

describe('CocoEval against pycocotools (fixture)', () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
  const gt = parseCocoInstances(fixture.gt, FIXTURE, true);
  const detections: DetectionResult[] = fixture.results.map((r) => ({
    imageId: r.image_id,
    categoryId: r.category_id,
    score: r.score,
    // dashseg writes x1, y1, x2, y2; the generator gave pycocotools [x1, y1, x2 - x1, y2 - y1], the same doubles.
    bbox: xyxyToXywh(r.box),
    segmentation: { height: r.segmentation.size[0], width: r.segmentation.size[1], counts: rleCounts(r.segmentation) },
  }));

  it('covers what it claims to', () => {
    expect(gt.annotations.some((a) => a.iscrowd)).toBe(true);
    const forms = (fixture.gt as { annotations: { segmentation: unknown }[] }).annotations.map((a) =>
      Array.isArray(a.segmentation) ? 'polygon' : typeof (a.segmentation as { counts: unknown }).counts === 'string' ? 'rle' : 'uncompressed',
    );
    expect(new Set(forms)).toEqual(new Set(['polygon', 'rle', 'uncompressed']));
    const perImage = new Map<number, number>();
    for (const d of detections) perImage.set(d.imageId, (perImage.get(d.imageId) ?? 0) + 1);
    expect(Math.max(...perImage.values())).toBeGreaterThan(100);
  });

  for (const iouType of ['segm', 'bbox'] as const) {
    it(`${iouType}: the 12 summary numbers and per-category AP equal pycocotools' exactly`, () => {
      const result = cocoEvaluate(gt.annotations, detections, {
        iouType,
        imageIds: gt.images.map((image) => image.id),
        categoryIds: gt.categories.map((category) => category.id),
      });
      const expected = fixture.expected[iouType];
      expect(SUMMARY_NAMES.map((name) => result.stats[name])).toEqual(expected.stats);
      for (const entry of result.perCategory) {
        expect([entry.AP, entry.AP50]).toEqual(expected.perCategory[String(entry.categoryId)]);
      }
      // The category without annotations is undefined (-1), and so left out of the means, not counted as 0.
      expect(result.perCategory.find((entry) => entry.categoryId === 18)).toMatchObject({ AP: -1, AP50: -1 });
    });
  }

  it('the same numbers come out of evaluateFiles reading the files, with the detections written as detect lines', () => {
    const dir = tempDir();
    try {
      const images = (fixture.gt as { images: { id: number; file_name: string; width: number; height: number }[] }).images;
      const lines = images.map((image, frame) => {
        const mine = fixture.results.filter((r) => r.image_id === image.id);
        // detect writes instances by descending score; a stable sort keeps the fixture's order among ties.
        mine.sort((a, b) => b.score - a.score);
        const instances = mine.map((r) => ({ id: null, classId: r.category_id, label: String(r.category_id), score: r.score, box: r.box, mask: r.segmentation }));
        return JSON.stringify({ schemaVersion: 1, source: `/somewhere/else/${image.file_name}`, frame, pts: 0, width: image.width, height: image.height, inferred: true, instances });
      });
      writeFileSync(join(dir.path, 'gt.json'), JSON.stringify(fixture.gt));
      writeFileSync(join(dir.path, 'pred.jsonl'), `${lines.join('\n')}\n`);
      const report = evaluateFiles({ gt: join(dir.path, 'gt.json'), pred: join(dir.path, 'pred.jsonl'), iouTypes: ['segm', 'bbox'] });
      for (const iouType of ['segm', 'bbox'] as const) {
        const stats = report.coco[iouType]?.stats;
        expect(SUMMARY_NAMES.map((name) => stats?.[name])).toEqual(fixture.expected[iouType].stats);
      }
    } finally {
      dir.remove();
    }
  });
});
