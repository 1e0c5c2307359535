/**
 * tools/bench/miss-breakdown: each ground-truth object-frame lands in the outcome its detections allow. A frame of
 * rectangles whose overlaps are counted by hand, one object for each outcome.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_VERSION, type FrameRecord, type InstanceRecord } from '../../src/output/frame-record';
import { encodeMask } from '../../src/output/rle';
import { packageRoot } from '../../src/paths';
import { tempDir } from '../support/media';

const WIDTH = 40;
const HEIGHT = 60;
const LABELS: Record<number, string> = { 1: 'person', 3: 'car', 8: 'truck' };

/** An instance whose mask is the rectangle x1..x2 × y1..y2 (pixels x1 <= x < x2) and whose box is `box` or that. */
function rectangle(
  fields: { id: number | null; classId: number; score: number; ignore?: boolean },
  [x1, y1, x2, y2]: [number, number, number, number],
  box: [number, number, number, number] = [x1, y1, x2, y2],
): InstanceRecord {
  const mask = new Uint8Array(WIDTH * HEIGHT);
  for (let y = y1; y < y2; y++) mask.fill(1, y * WIDTH + x1, y * WIDTH + x2);
  const { ignore, ...rest } = fields;
  return { ...rest, label: LABELS[fields.classId] as string, box, mask: encodeMask(mask, HEIGHT, WIDTH), ...(ignore ? { ignore } : {}) };
}

function frameLine(instances: InstanceRecord[]): string {
  const record: FrameRecord = { schemaVersion: SCHEMA_VERSION, source: 'hand.mp4', frame: 0, pts: 0, width: WIDTH, height: HEIGHT, inferred: true, instances };
  return `${JSON.stringify(record)}\n`;
}

describe('miss-breakdown', () => {
  const dir = tempDir();
  const truth = join(dir.path, 'gt.jsonl');
  const detections = join(dir.path, 'detections.jsonl');
  beforeAll(() => {
    writeFileSync(
      truth,
      frameLine([
        rectangle({ id: 1, classId: 3, score: 1 }, [0, 0, 10, 10]), // found
        rectangle({ id: 2, classId: 1, score: 1 }, [12, 0, 16, 20]), // 80 px; box only
        rectangle({ id: 3, classId: 8, score: 1 }, [20, 0, 30, 10]), // low score
        rectangle({ id: 4, classId: 3, score: 1 }, [32, 0, 40, 10]), // 80 px; near
        rectangle({ id: 5, classId: 1, score: 1 }, [0, 10, 10, 20]), // not found
        rectangle({ id: 6, classId: 3, score: 1, ignore: true }, [20, 12, 24, 16]), // an ignore region: not counted
      ]),
    );
    writeFileSync(
      detections,
      frameLine([
        rectangle({ id: 1, classId: 3, score: 0.9 }, [0, 0, 10, 10]),
        // The whole box but only its top quarter as mask: box IoU 1, mask IoU 20 / 80.
        rectangle({ id: 2, classId: 1, score: 0.9 }, [12, 0, 16, 5], [12, 0, 16, 20]),
        // Three of the eight columns: mask and box IoU 30 / 80.
        rectangle({ id: 4, classId: 3, score: 0.9 }, [32, 0, 35, 10]),
        rectangle({ id: 3, classId: 8, score: 0.3 }, [20, 0, 30, 10]),
      ]),
    );
  });
  afterAll(() => dir.remove());

  const breakdown = (...extra: string[]): string[] =>
    execFileSync(process.execPath, [join(packageRoot(), 'dist', 'tools', 'bench', 'miss-breakdown.js'), detections, truth, ...extra], { encoding: 'utf8' })
      .trim()
      .split('\n');

  test('one object in each outcome, by class, the ignore region left out', () => {
    expect(breakdown()).toEqual([
      '| class | object-frames | found | box only | low score | near | not found |',
      '|---|---|---|---|---|---|---|',
      '| all | 5 | 20% | 20% | 20% | 20% | 20% |',
      '| car | 2 | 50% | 0% | 0% | 50% | 0% |',
      '| person | 2 | 0% | 50% | 0% | 0% | 50% |',
      '| truck | 1 | 0% | 0% | 100% | 0% | 0% |',
    ]);
  });

  test('--score moves the line between found and low score', () => {
    const lines = breakdown('--score', '0.25');
    expect(lines[2]).toBe('| all | 5 | 40% | 20% | 0% | 20% | 20% |');
    expect(lines[5]).toBe('| truck | 1 | 100% | 0% | 0% | 0% | 0% |');
  });

  test('--by height and --by border group the same object-frames by box height and by the image border', () => {
    // Every object but the found car (left and top edges) lies on the top edge or the left one, so a second frame
    // adds objects inside the image, of three heights, and one cut by the right edge.
    const sized = join(dir.path, 'sized-gt.jsonl');
    const sizedDetections = join(dir.path, 'sized-detections.jsonl');
    writeFileSync(
      sized,
      frameLine([
        rectangle({ id: 1, classId: 3, score: 1 }, [2, 2, 8, 25]), // 23 px tall: found
        rectangle({ id: 2, classId: 3, score: 1 }, [10, 2, 20, 26]), // 24 px: not found
        rectangle({ id: 3, classId: 8, score: 1 }, [22, 2, 30, 50]), // 48 px: found
        rectangle({ id: 4, classId: 8, score: 1 }, [32, 30, 40, 40]), // 10 px, at the right edge: not found
      ]),
    );
    writeFileSync(
      sizedDetections,
      frameLine([rectangle({ id: 1, classId: 3, score: 0.9 }, [2, 2, 8, 25]), rectangle({ id: 3, classId: 8, score: 0.9 }, [22, 2, 30, 50])]),
    );
    const run = (by: string): string[] =>
      execFileSync(process.execPath, [join(packageRoot(), 'dist', 'tools', 'bench', 'miss-breakdown.js'), sizedDetections, sized, '--by', by], { encoding: 'utf8' })
        .trim()
        .split('\n');
    expect(run('height')).toEqual([
      '| height | object-frames | found | box only | low score | near | not found |',
      '|---|---|---|---|---|---|---|',
      '| all | 4 | 50% | 0% | 0% | 0% | 50% |',
      '| < 24 px | 2 | 50% | 0% | 0% | 0% | 50% |',
      '| 24-48 px | 1 | 0% | 0% | 0% | 0% | 100% |',
      '| 48-96 px | 1 | 100% | 0% | 0% | 0% | 0% |',
    ]);
    expect(run('border').slice(2)).toEqual([
      '| all | 4 | 50% | 0% | 0% | 0% | 50% |',
      '| inside | 3 | 67% | 0% | 0% | 0% | 33% |',
      '| cut by the border | 1 | 0% | 0% | 0% | 0% | 100% |',
    ]);
    // Two clips are counted together: the first frame's five outcomes and this frame's two found, two not.
    expect(breakdown(sizedDetections, sized)[2]).toBe('| all | 9 | 33% | 11% | 11% | 11% | 33% |');
    expect(breakdown('--by', 'border').slice(2)).toEqual([
      '| all | 5 | 20% | 20% | 20% | 20% | 20% |',
      '| cut by the border | 5 | 20% | 20% | 20% | 20% | 20% |',
    ]);
  });

  test('an unknown --by, or detections without their ground truth, is a usage error, exit 2', () => {
    expect(() => breakdown('--by', 'colour')).toThrow(expect.objectContaining({ status: 2, stderr: expect.stringContaining('--by class|height|border') }));
    expect(() => breakdown(detections)).toThrow(expect.objectContaining({ status: 2, stderr: expect.stringContaining('usage: miss-breakdown') }));
  });
});
