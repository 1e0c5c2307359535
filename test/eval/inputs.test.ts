/** Reading evaluation inputs: COCO segmentation forms, the file-name matching rule, and the errors users hit. */
import { UserError } from '../../src/errors';
import { parseCocoInstances, segmentationRuns, type EvalImage } from '../../src/eval/coco-dataset';
import { matchLinesToImages, parseFrameLines, type FrameLine } from '../../src/eval/frame-lines';
import type { FrameRecord } from '../../src/output/frame-record';
import { encodeCounts } from '../../src/output/rle';

const image: EvalImage = { id: 1, fileName: 'a.png', width: 3, height: 2 };

describe('segmentationRuns (COCO.annToRLE)', () => {
  // A 2-row, 3-column image; the middle column set: column-major runs [2, 2, 2].
  it('reads compressed, uncompressed and polygon forms to the same runs', () => {
    expect(segmentationRuns({ size: [2, 3], counts: encodeCounts([2, 2, 2]) }, image, 's', 'f').counts).toEqual([2, 2, 2]);
    expect(segmentationRuns({ size: [2, 3], counts: [2, 2, 2] }, image, 's', 'f').counts).toEqual([2, 2, 2]);
    // The square (1,0)-(2,2) covers pixel column 1, both rows.
    expect(segmentationRuns([[1, 0, 2, 0, 2, 2, 1, 2]], image, 's', 'f').counts).toEqual([2, 2, 2]);
    // Two polygons are one object: their union (columns 0 and 1 → runs [0, 4, 2]).
    expect(segmentationRuns([[0, 0, 1, 0, 1, 2, 0, 2], [1, 0, 2, 0, 2, 2, 1, 2]], image, 's', 'f').counts).toEqual([0, 4, 2]);
  });

  it('rejects what cannot be this image\'s mask, naming the field', () => {
    const bad = (value: unknown): string => {
      try {
        segmentationRuns(value, image, 'annotations[4].segmentation', 'gt.json');
      } catch (error) {
        expect(error).toBeInstanceOf(UserError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ size: [3, 2], counts: 'abc' })).toBe("gt.json: annotations[4].segmentation .size must be the image's [height, width] = [2, 3], got [3,2]");
    expect(bad({ size: [2, 3], counts: [2, 2] })).toMatch(/runs sum to 4 pixels but the image has 6/);
    expect(bad({ size: [2, 3], counts: '!!' })).toMatch(/\.counts: malformed RLE counts/);
    expect(bad([])).toMatch(/empty list of polygons/);
    expect(bad([[1, 2]])).toMatch(/needs at least 3 points/);
    expect(bad('polygon')).toMatch(/must be an RLE \{size, counts\} or a list of polygons/);
  });
});

describe('parseCocoInstances', () => {
  const base = {
    images: [{ id: 1, file_name: 'a.png', width: 3, height: 2 }],
    categories: [{ id: 1, name: 'car' }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 0, 1, 2], area: 2, iscrowd: 0, segmentation: { size: [2, 3], counts: [2, 2, 2] } }],
  };
  const message = (value: unknown, masks = true): string => {
    try {
      parseCocoInstances(value, 'gt.json', masks);
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };

  it('keeps ids, the file area and crowd flags; segmentations only when masks are wanted', () => {
    const parsed = parseCocoInstances(base, 'gt.json', true);
    expect(parsed.annotations[0]).toMatchObject({ id: 1, imageId: 1, categoryId: 1, area: 2, iscrowd: false, segmentation: { counts: [2, 2, 2] } });
    expect(parseCocoInstances(base, 'gt.json', false).annotations[0]?.segmentation).toBeUndefined();
  });

  it('names the problem', () => {
    expect(message([])).toBe('gt.json: not a COCO instances file (no "images" list)');
    expect(message({ ...base, annotations: [{ ...base.annotations[0], image_id: 2 }] })).toBe('gt.json: annotations[0].image_id 2 is not in "images"');
    expect(message({ ...base, images: [...base.images, { id: 1, file_name: 'b.png', width: 1, height: 1 }] })).toMatch(/images\[1\]\.id 1 is used by another image too/);
    expect(message({ ...base, annotations: [{ ...base.annotations[0], segmentation: undefined }] })).toMatch(/has no segmentation \(needed for mask AP; use --iou-type bbox\)/);
    expect(message({ ...base, annotations: [{ ...base.annotations[0], segmentation: undefined }] }, false)).toBe('accepted');
    expect(message({ ...base, annotations: [{ ...base.annotations[0], area: undefined }] })).toMatch(/annotations\[0\]\.area must be a number >= 0/);
  });
});

describe('matchLinesToImages: by trailing path components', () => {
  const images: EvalImage[] = [
    { id: 1, fileName: 'val2017/0001.jpg', width: 4, height: 4 },
    { id: 2, fileName: '10001.jpg', width: 4, height: 4 },
  ];
  const line = (source: string, n: number): FrameLine => ({
    line: n,
    record: { schemaVersion: 1, source, frame: n - 1, pts: 0, width: 4, height: 4, inferred: true, instances: [] } as FrameRecord,
  });
  const matched = (sources: string[]): [number, string][] =>
    [...matchLinesToImages(sources.map((s, i) => line(s, i + 1)), images, 'p.jsonl')].map(([id, l]) => [id, l.record.source]);

  it('pairs a source with the file name it ends with (or that ends with it), whole components only', () => {
    expect(matched(['/data/coco/val2017/0001.jpg', 'C:\\images\\10001.jpg'])).toEqual([
      [1, '/data/coco/val2017/0001.jpg'],
      [2, 'C:\\images\\10001.jpg'],
    ]);
    // Run from inside val2017: the source is the shorter path.
    expect(matched(['./0001.jpg', '10001.jpg'])).toEqual([
      [1, './0001.jpg'],
      [2, '10001.jpg'],
    ]);
  });

  it('refuses a source of another image, a second line for one image, and a missing one', () => {
    expect(() => matched(['train2017/0001.jpg', '10001.jpg'])).toThrow('p.jsonl:1: source train2017/0001.jpg is not an image of the ground truth');
    expect(() => matched(['0001.jpg', 'val2017/0001.jpg', '10001.jpg'])).toThrow('p.jsonl:2: image val2017/0001.jpg already has predictions on line 1');
    expect(() => matched(['10001.jpg'])).toThrow('p.jsonl: no prediction line for image val2017/0001.jpg');
  });

  it('checks that the line has the image\'s size', () => {
    const wrong = line('0001.jpg', 1);
    wrong.record.width = 8;
    expect(() => matchLinesToImages([wrong, line('10001.jpg', 2)], images, 'p.jsonl')).toThrow('p.jsonl:1: 0001.jpg is 8x4 but the ground truth\'s val2017/0001.jpg is 4x4');
  });
});

describe('parseFrameLines', () => {
  it('reports the first contract problem with its line number', () => {
    expect(() => parseFrameLines('\n{"schemaVersion": 2}\n', 'p.jsonl')).toThrow(/^p\.jsonl:2: not a dashseg frame line: schemaVersion: must be 1, got 2 \(and \d+ more problems\)$/);
  });
});
