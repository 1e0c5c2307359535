/**
 * `dashseg eval` end to end on tiny hand-made files (the built CLI; npm test builds first). Every expected number is
 * worked out in the comments from the definitions in test/eval/coco-eval.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMask, type CocoRle } from '../../src/output/rle';
import { oneErrorLine, runCli } from '../support/cli';
import { tempDir } from '../support/media';

const W = 20;
const H = 16;

/** A filled rectangle x0 <= x < x1, y0 <= y < y1 as COCO RLE, and its x1, y1, x2, y2 box. */
function rect(x0: number, y0: number, x1: number, y1: number): { mask: CocoRle; box: [number, number, number, number]; area: number } {
  const bitmap = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) bitmap[y * W + x] = 1;
  return { mask: encodeMask(bitmap, H, W), box: [x0, y0, x1, y1], area: (x1 - x0) * (y1 - y0) };
}

function instance(id: number | null, classId: number, label: string, score: number, shape: ReturnType<typeof rect>) {
  return { id, classId, label, score, box: shape.box, mask: shape.mask };
}

function frameLine(source: string, frame: number, instances: (ReturnType<typeof instance> & { ignore?: boolean })[]): string {
  return JSON.stringify({ schemaVersion: 1, source, frame, pts: frame / 25, width: W, height: H, inferred: true, instances });
}

interface ReportJson {
  mode: string;
  ignoredDetections: number;
  segm: { AP: number; AP50: number; stats: number[]; perCategory: { id: number; AP: number; AP50: number; groundTruths: number }[] };
  bbox: { AP: number };
  tracking?: { mota: number; idf1: number; idSwitches: number; matches: number; misses: number; falsePositives: number; fragmentations: number };
}

describe('dashseg eval', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const path = (name: string): string => join(dir.path, name);

  // Still images: a person in img0 found perfectly (AP 1); a car in sub/img1 found perfectly but after a false
  // positive that scores higher (AP 0.5, see the FP-above-TP case). Mean over the two categories: 0.75, for masks
  // and boxes alike (the shapes are rectangles, so box IoU = mask IoU). A third category (truck) has no objects: -1.
  const person = rect(2, 2, 6, 6);
  const car = rect(8, 4, 14, 10);
  const stray = rect(15, 12, 19, 15);
  const cocoGt = {
    images: [
      { id: 1, file_name: 'img0.png', width: W, height: H },
      { id: 2, file_name: 'sub/img1.png', width: W, height: H },
    ],
    categories: [
      { id: 1, name: 'person' },
      { id: 3, name: 'car' },
      { id: 8, name: 'truck' },
    ],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, segmentation: person.mask, area: person.area, bbox: [2, 2, 4, 4], iscrowd: 0 },
      { id: 2, image_id: 2, category_id: 3, segmentation: car.mask, area: car.area, bbox: [8, 4, 6, 6], iscrowd: 0 },
    ],
  };
  const detectLines = [
    // Paths as detect was given them: absolute for one, relative with a leading ./ for the other.
    frameLine('/data/coco/img0.png', 0, [instance(null, 1, 'person', 0.9, person), instance(null, 5, 'airplane', 0.3, stray)]),
    frameLine('./images/sub/img1.png', 1, [instance(null, 3, 'car', 0.95, stray), instance(null, 3, 'car', 0.8, car)]),
  ];

  it('still images: COCO mask and box AP from detect lines, matched by file name', async () => {
    writeFileSync(path('instances.json'), JSON.stringify(cocoGt));
    writeFileSync(path('detect.jsonl'), `${detectLines.join('\n')}\n`);
    const result = await runCli(['eval', '--gt', path('instances.json'), '--pred', path('detect.jsonl'), '--json', path('report.json')]);
    expect(result.stderr).toBe(`wrote ${path('report.json')}\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^2 images, 3 categories, 2 ground-truth objects, 3 predictions \(1 more of classes the ground truth lacks, left out\)/);
    // Every IoU is 1, so AP50 = AP75 = AP; all objects are small (16 and 36 pixels), so APs = AP and APm, APl are -1.
    // AR1 = 0.5: with one detection per image the car's image keeps only the false positive (recall 0), person 1.
    expect(result.stdout).toMatch(/^segm {5}0\.750 {3}0\.750 {3}0\.750 {3}0\.750 {7}- {7}- {3}0\.500 {3}1\.000 {3}1\.000$/m);
    expect(result.stdout).toMatch(/^bbox\s+0\.750\s+/m);
    expect(result.stdout).toMatch(/^car\s+3\s+1\s+2\s+0\.500\s+0\.500\s+0\.500\s+0\.500$/m);
    expect(result.stdout).toMatch(/^truck\s+8\s+0\s+0\s+-\s+-\s+-\s+-$/m);

    const report = JSON.parse(readFileSync(path('report.json'), 'utf8')) as ReportJson;
    expect(report.mode).toBe('images');
    expect(report.ignoredDetections).toBe(1);
    expect(report.segm.AP).toBeCloseTo(0.75, 12);
    expect(report.bbox.AP).toBeCloseTo(0.75, 12);
    expect(report.segm.stats).toHaveLength(12);
    expect(report.segm.perCategory.map((c) => [c.id, c.groundTruths, Number(c.AP.toFixed(6))])).toEqual([
      [1, 1, 1],
      [3, 1, 0.5],
      [8, 0, -1],
    ]);
  });

  it('--iou-type bbox needs no masks in the ground truth; --json - puts JSON on stdout and the table on stderr', async () => {
    const noMasks = { ...cocoGt, annotations: cocoGt.annotations.map(({ segmentation: _unused, ...rest }) => rest) };
    writeFileSync(path('boxes.json'), JSON.stringify(noMasks));
    writeFileSync(path('detect.jsonl'), `${detectLines.join('\n')}\n`);
    const result = await runCli(['eval', '--gt', path('boxes.json'), '--pred', path('detect.jsonl'), '--iou-type', 'bbox', '--json', '-']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as ReportJson & { segm?: unknown };
    expect(report.bbox.AP).toBeCloseTo(0.75, 12);
    expect(report.segm).toBeUndefined();
    expect(result.stderr).toMatch(/^bbox\s+0\.750/m);
  });

  // A clip of 3 annotated frames with two objects: a car (gt id 1) and a person (gt id 2), both predicted perfectly
  // in every frame. The tracker calls the car 7, 7, then 9 (an identity switch in frame 2); the person is 8 throughout.
  // Truths 6, matches 6, misses 0, false positives 0, switches 1: MOTA = 1 - 1/6 = 5/6.
  // IDF1: best trajectory pairing 1↔7 (2 frames) and 2↔8 (3 frames): IDTP 5, IDF1 = 2·5 / (6 + 6) = 5/6.
  // COCO AP: every prediction perfect, so 1 for both classes. The prediction's frame 3 has no ground truth: unused.
  const clipCar = rect(1, 1, 7, 7);
  const clipPerson = rect(10, 2, 14, 12);
  const gtLines = [0, 1, 2].map((frame) =>
    frameLine('clip.mp4', frame, [instance(1, 3, 'car', 1, clipCar), instance(2, 1, 'person', 1, clipPerson)]),
  );
  const annotateLines = [7, 7, 9, 9].map((carId, frame) =>
    frameLine('clip.mp4', frame, [instance(carId, 3, 'car', 0.9, clipCar), instance(8, 1, 'person', 0.8, clipPerson)]),
  );

  it('a clip: AP over its frames and tracking metrics', async () => {
    writeFileSync(path('clip.gt.jsonl'), `${gtLines.join('\n')}\n`);
    writeFileSync(path('clip.jsonl'), `${annotateLines.join('\n')}\n`);
    const result = await runCli(['eval', '--gt', path('clip.gt.jsonl'), '--pred', path('clip.jsonl'), '--json', path('clip.json')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^3 annotated frames, 2 categories, 6 ground-truth objects, 6 predictions$/m);
    expect(result.stdout).toMatch(/tracking \(class-agnostic, mask IoU >= 0\.5\): MOTA 0\.833 {2}IDF1 0\.833/);
    expect(result.stdout).toMatch(/ID switches 1 {2}fragmentations 0/);
    const report = JSON.parse(readFileSync(path('clip.json'), 'utf8')) as ReportJson;
    expect(report.mode).toBe('clip');
    expect(report.segm.AP).toBeCloseTo(1, 12);
    expect(report.tracking).toMatchObject({ matches: 6, misses: 0, falsePositives: 0, idSwitches: 1, fragmentations: 0 });
    expect(report.tracking?.mota).toBeCloseTo(5 / 6, 12);
    expect(report.tracking?.idf1).toBeCloseTo(5 / 6, 12);
  });

  // The clip again, with a traffic light too small to score (id 3, 9 pixels, "ignore": true) in every frame, which
  // the tracker reports as 11 in frames 0 and 1. As an ignore region it changes nothing: both hypotheses on it are
  // dropped, so MOTA and IDF1 stay 5/6. Scored (--score-ignored): truths 9, hypotheses 8, matches 8, one miss,
  // one switch: MOTA 1 - 2/9 = 7/9; IDTP 2 + 3 + 2 = 7, IDF1 = 2·7 / (9 + 8) = 14/17.
  const light = rect(16, 13, 19, 16);
  it('a clip with ignore regions: neither credited nor missed, unless --score-ignored', async () => {
    const gt = [0, 1, 2].map((frame) =>
      frameLine('clip.mp4', frame, [instance(1, 3, 'car', 1, clipCar), instance(2, 1, 'person', 1, clipPerson), { ...instance(3, 10, 'traffic light', 1, light), ignore: true }]),
    );
    const pred = [7, 7, 9].map((carId, frame) =>
      frameLine('clip.mp4', frame, [
        instance(carId, 3, 'car', 0.9, clipCar),
        instance(8, 1, 'person', 0.8, clipPerson),
        ...(frame < 2 ? [instance(11, 10, 'traffic light', 0.7, light)] : []),
      ]),
    );
    writeFileSync(path('ignore.gt.jsonl'), `${gt.join('\n')}\n`);
    writeFileSync(path('ignore.jsonl'), `${pred.join('\n')}\n`);
    const ignored = await runCli(['eval', '--gt', path('ignore.gt.jsonl'), '--pred', path('ignore.jsonl'), '--json', '-']);
    expect(ignored.code).toBe(0);
    expect(ignored.stderr).toMatch(/^3 annotated frames, 3 categories, 6 ground-truth objects \(and 3 crowd or ignore regions\), 8 predictions$/m);
    const report = JSON.parse(ignored.stdout) as ReportJson;
    expect(report.tracking).toMatchObject({ matches: 6, misses: 0, falsePositives: 0, idSwitches: 1 });
    expect(report.tracking?.idf1).toBeCloseTo(5 / 6, 12);
    expect(report.segm.AP).toBeCloseTo(1, 12);

    const scored = await runCli(['eval', '--gt', path('ignore.gt.jsonl'), '--pred', path('ignore.jsonl'), '--json', '-', '--score-ignored']);
    expect(scored.code).toBe(0);
    const all = JSON.parse(scored.stdout) as ReportJson;
    expect(all.tracking).toMatchObject({ matches: 8, misses: 1, falsePositives: 0, idSwitches: 1 });
    expect(all.tracking?.mota).toBeCloseTo(7 / 9, 12);
    expect(all.tracking?.idf1).toBeCloseTo(14 / 17, 12);
    // The light is found in 2 of 3 frames, every detection right: precision 1 up to recall 2/3, so AP 67/101.
    expect(all.segm.perCategory.find((c) => c.id === 10)?.AP).toBeCloseTo(67 / 101, 12);
  });

  it('COCO ground truth: an object marked "ignore" is a crowd region, and an object again with --score-ignored', async () => {
    const tiny = rect(16, 1, 19, 4);
    const gt = {
      ...cocoGt,
      images: [cocoGt.images[0]],
      annotations: [cocoGt.annotations[0], { id: 3, image_id: 1, category_id: 1, segmentation: tiny.mask, area: tiny.area, bbox: [16, 1, 3, 3], iscrowd: 1, ignore: true }],
    };
    writeFileSync(path('ignore.json'), JSON.stringify(gt));
    writeFileSync(path('ignore-detect.jsonl'), `${frameLine('img0.png', 0, [instance(null, 1, 'person', 0.9, person)])}\n`);
    const args = ['eval', '--gt', path('ignore.json'), '--pred', path('ignore-detect.jsonl'), '--json', '-'];
    const ignored = JSON.parse((await runCli(args)).stdout) as ReportJson;
    expect(ignored.segm.perCategory.find((c) => c.id === 1)?.groundTruths).toBe(1);
    expect(ignored.segm.perCategory.find((c) => c.id === 1)?.AP50).toBeCloseTo(1, 12);
    // Scored, the tiny person is missed: precision 1 up to recall 1/2, AP50 51/101.
    const scored = JSON.parse((await runCli([...args, '--score-ignored'])).stdout) as ReportJson;
    expect(scored.segm.perCategory.find((c) => c.id === 1)?.groundTruths).toBe(2);
    expect(scored.segm.perCategory.find((c) => c.id === 1)?.AP50).toBeCloseTo(51 / 101, 12);
  });

  describe('errors a user can cause are one line and a non-zero exit', () => {
    const fail = async (args: string[]): Promise<string> => {
      const result = await runCli(['eval', ...args]);
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      return oneErrorLine(result.stderr);
    };

    it('missing files and unreadable JSON', async () => {
      expect(await fail(['--gt', path('nope.json'), '--pred', path('detect.jsonl')])).toBe(`dashseg: ${path('nope.json')}: no such file`);
      writeFileSync(path('broken.jsonl'), '{"schemaVersion": 1,\n');
      writeFileSync(path('instances.json'), JSON.stringify(cocoGt));
      expect(await fail(['--gt', path('instances.json'), '--pred', path('broken.jsonl')])).toMatch(/broken\.jsonl:1: not valid JSON/);
      writeFileSync(path('other.json'), JSON.stringify({ annotations: [] }));
      expect(await fail(['--gt', path('other.json'), '--pred', path('detect.jsonl')])).toMatch(/other\.json: neither a COCO instances file \(a JSON object with "images"\) nor frame JSON lines$/);
    });

    it('an image without a prediction line, and a line for an image the ground truth lacks', async () => {
      writeFileSync(path('instances.json'), JSON.stringify(cocoGt));
      writeFileSync(path('one.jsonl'), `${detectLines[0]}\n`);
      expect(await fail(['--gt', path('instances.json'), '--pred', path('one.jsonl')])).toMatch(/no prediction line for image sub\/img1\.png/);
      writeFileSync(path('extra.jsonl'), `${[...detectLines, frameLine('img9.png', 2, [])].join('\n')}\n`);
      expect(await fail(['--gt', path('instances.json'), '--pred', path('extra.jsonl')])).toMatch(/extra\.jsonl:3: source img9\.png is not an image of the ground truth/);
    });

    it('an annotation of an unknown category', async () => {
      const bad = { ...cocoGt, annotations: [{ ...cocoGt.annotations[0], category_id: 99 }] };
      writeFileSync(path('bad-category.json'), JSON.stringify(bad));
      expect(await fail(['--gt', path('bad-category.json'), '--pred', path('detect.jsonl')])).toMatch(/annotations\[0\]\.category_id 99 is not in "categories" \(unknown category\)/);
    });

    it('clip frames that do not line up', async () => {
      writeFileSync(path('clip.gt.jsonl'), `${gtLines.join('\n')}\n`);
      writeFileSync(path('short.jsonl'), `${annotateLines.slice(0, 2).join('\n')}\n`);
      expect(await fail(['--gt', path('clip.gt.jsonl'), '--pred', path('short.jsonl')])).toMatch(/no line for frame 2, which .* annotates: the frames do not line up/);
    });

    it('detect output (no track ids) given for a clip', async () => {
      writeFileSync(path('clip.gt.jsonl'), `${gtLines.join('\n')}\n`);
      const untracked = [0, 1, 2].map((frame) => frameLine('clip.mp4', frame, [instance(null, 3, 'car', 0.9, clipCar)]));
      writeFileSync(path('untracked.jsonl'), `${untracked.join('\n')}\n`);
      expect(await fail(['--gt', path('clip.gt.jsonl'), '--pred', path('untracked.jsonl')])).toMatch(/has no track id: tracking metrics need `dashseg annotate --json` output/);
    });
  });
});
