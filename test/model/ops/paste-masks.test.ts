import {
  PASTE_MASKS_DEFAULTS,
  cropToImage,
  pasteBoxes,
  pasteMaskCrops,
  pasteMaskCropsBinary,
  pasteMasksInImage,
} from '../../../src/model/ops/paste-masks';
import { fixtureFolder, maxAbsDiff } from '../../support/fixtures';

const { f32, ints } = fixtureFolder('ops', 'paste');

const masks = f32('masks');
const boxes = f32('boxes');
const [height, width] = ints('image_size');
const expected = f32('pasted');
const count = boxes.length / 4;

describe('pasteBoxes (expand_boxes + int64 cast)', () => {
  it('gives the integer boxes torchvision pastes into', () => {
    expect(Array.from(pasteBoxes(boxes, 28, 1))).toEqual(ints('int_boxes'));
  });

  it('rounds the 30/28 scale to float32 before multiplying, and truncates toward zero', () => {
    // The first rows of this fixture truncate differently with the double scale (e.g. 451.99997 vs 452.0).
    expect(Array.from(pasteBoxes(f32('expand_boxes'), 28, 1))).toEqual(ints('expand_int_boxes'));
    // −0.1 expanded is about −0.86: truncation gives 0 where floor would give −1.
    expect(Array.from(pasteBoxes(new Float32Array([-0.1, 10, 20.3, 12]), 28, 1)).slice(0, 2)).toEqual([0, 9]);
  });
});

describe('pasteMasksInImage (paste_masks_in_image)', () => {
  it('matches torchvision on every detection, including boxes partly outside and below one pixel', () => {
    const pasted = pasteMasksInImage(masks, boxes, [height, width]);
    expect(pasted).toHaveLength(count);
    const area = height * width;
    const errors = pasted.map((map, d) => maxAbsDiff(map, expected.subarray(d * area, (d + 1) * area)));
    console.log(`paste_masks_in_image max abs error: ${Math.max(...errors).toExponential(2)}`);
    expect(Math.max(...errors)).toBeLessThanOrEqual(1e-6);
    // Guards the fixture: most detections paste something, and the zero-width one at the edge pastes nothing.
    expect(pasted.filter((map) => map.some((v) => v > 0.1)).length).toBeGreaterThan(count - 3);
  });

  it('returns nothing for no detections, and zeros for a box entirely outside the image', () => {
    expect(pasteMasksInImage(new Float32Array(0), new Float32Array(0), [height, width])).toEqual([]);
    const outside = new Float32Array([width + 5, 2, width + 20, 9, -30, -20, -10, -5]);
    const pasted = pasteMasksInImage(masks.subarray(0, 2 * 28 * 28), outside, [height, width]);
    expect(pasted.map((map) => map.every((v) => v === 0))).toEqual([true, true]);
  });

  it('rejects masks that are not square per box', () => {
    expect(() => pasteMasksInImage(new Float32Array(100), new Float32Array(8), [10, 10])).toThrow(/square masks/);
  });
});

describe('pasteMaskCrops (the same values, only over each box)', () => {
  it('equals the full map on its rectangle, and the full map is zero outside it', () => {
    const crops = pasteMaskCrops(masks, boxes, [height, width]);
    crops.forEach((crop, d) => {
      const full = expected.subarray(d * height * width, (d + 1) * height * width);
      expect(maxAbsDiff(cropToImage(crop, [height, width]), full)).toBeLessThanOrEqual(1e-6);
      expect(crop.data).toHaveLength(crop.width * crop.height);
      expect(crop.x >= 0 && crop.y >= 0 && crop.x + crop.width <= width && crop.y + crop.height <= height).toBe(true);
    });
    // Tiny boxes still paste one pixel; the zero-width box on the right edge is empty.
    expect(crops[3]).toMatchObject({ width: 1, height: 1 });
    expect(crops[5]).toMatchObject({ x: width, width: 0 });
  });

  it('thresholds at >= 0.5 for binary crops', () => {
    const binary = pasteMaskCropsBinary(masks, boxes, [height, width]);
    const probabilities = pasteMaskCrops(masks, boxes, [height, width]);
    binary.forEach((crop, d) => {
      expect(Array.from(crop.data)).toEqual(
        Array.from(probabilities[d].data, (p) => (p >= PASTE_MASKS_DEFAULTS.threshold ? 1 : 0)),
      );
    });
    // A mask of exactly 0.5 everywhere, pasted into its own box: every pixel inside is foreground.
    const half = new Float32Array(28 * 28).fill(0.5);
    const [crop] = pasteMaskCropsBinary(half, new Float32Array([10, 10, 30, 30]), [height, width]);
    // Interior pixels see only 0.5 (the zero border is only blended in near the edges).
    expect(crop.data[Math.floor(crop.height / 2) * crop.width + Math.floor(crop.width / 2)]).toBe(1);
  });
});
