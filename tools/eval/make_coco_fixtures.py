#!/usr/bin/env python3
"""Write test/fixtures/eval/coco-random.json: a seeded random COCO data set, detections for it, and what
pycocotools' COCOeval makes of them, which test/eval-coco-fixture.test.ts requires src/eval/ to reproduce exactly.

Every expected number comes from pycocotools itself (COCO, COCO.loadRes, COCOeval.evaluate/accumulate/summarize and
pycocotools.mask), so the fixture carries pycocotools' behaviour, not a re-implementation of it. The data is made
to reach the rules that are easy to get wrong:
- ground truths as compressed RLE, uncompressed RLE (the crowd form) and polygons (one or two parts), including
  polygons with float and out-of-image vertices and a repeated vertex;
- crowd regions that swallow several detections; `area` fields that disagree with the mask, so that only the
  file's area decides small/medium/large;
- objects of every size class, with areas on the 32² and 96² boundaries;
- scores with ties within and across images (ranking must be stable in image-id order);
- an image with more than 100 detections of one class (maxDets truncation), an image with ground truth and no
  detections, an image with neither, detections of a class without ground truth, and a category with no
  annotations at all (AP -1, left out of the means).

pycocotools is not a dependency of dashseg; install it where you run this (pip install pycocotools numpy):
    python3 tools/eval/make_coco_fixtures.py [SEED OUT]

Layout of the output (JSON):
    generator          versions of pycocotools and numpy used
    gt                 the COCO instances document (images, annotations, categories)
    results            detections: image_id, category_id, score, box (x1, y1, x2, y2 as dashseg writes it),
                       bbox (x, y, x2 - x1, y2 - y1, as both sides derive it) and segmentation (compressed RLE)
    expected[iouType]  stats (the 12 numbers of summarize()) and perCategory {category id: [AP, AP50]}
                       (precision[:, :, k, 0, -1] and precision[0, :, k, 0, -1], mean of the values > -1, as
                       detectron2 reports per-class AP; -1 when there are none)
"""
import contextlib
import copy
import io
import json
import os
import sys
from importlib.metadata import version

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

# Optional arguments SEED OUT make other data sets of the same kind, for a wider check than the committed one.
SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 20240611
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'eval', 'coco-random.json')
rng = np.random.default_rng(SEED)

CATEGORIES = [{'id': 1, 'name': 'person'}, {'id': 3, 'name': 'car'}, {'id': 8, 'name': 'truck'}, {'id': 18, 'name': 'dog'}]
ANNOTATED = [1, 3, 8]  # dog (18) has no annotations: its AP is -1
# (height, width); the big ones hold objects above 96² = 9216 pixels.
SIZES = [(48, 64), (120, 160), (64, 48), (110, 130), (40, 40), (100, 100), (72, 96), (128, 128), (30, 50), (90, 120)]


def encode(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return rle


def uncompressed(mask):
    """COCO's crowd form: {size, counts: [runs]} in column-major order, background first."""
    flat = mask.astype(np.uint8).flatten(order='F')
    runs, value, count = [], 0, 0
    for pixel in flat:
        if pixel != value:
            runs.append(count)
            value, count = pixel, 0
        count += 1
    runs.append(count)
    return {'size': list(mask.shape), 'counts': [int(r) for r in runs]}


def blob(h, w, cx, cy, rx, ry, kind):
    ys, xs = np.mgrid[0:h, 0:w]
    if kind == 'ellipse':
        return ((xs - cx) / max(rx, 0.5)) ** 2 + ((ys - cy) / max(ry, 0.5)) ** 2 <= 1
    return (np.abs(xs - cx) <= rx) & (np.abs(ys - cy) <= ry)


def random_object(h, w):
    size = rng.choice(['small', 'medium', 'large'], p=[0.5, 0.35, 0.15])
    r = {'small': (1, 5), 'medium': (5, 14), 'large': (14, 40)}[size]
    rx, ry = rng.uniform(*r), rng.uniform(*r)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    mask = blob(h, w, cx, cy, rx, ry, rng.choice(['ellipse', 'rect']))
    return mask, (cx, cy, rx, ry)


def polygon_for(h, w, cx, cy, rx, ry):
    """A float polygon around the object, sometimes reaching outside the image, sometimes with a repeated vertex."""
    n = int(rng.integers(3, 8))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    xy = []
    for a in angles:
        xy += [float(cx + rx * 1.1 * np.cos(a)), float(cy + ry * 1.1 * np.sin(a))]
    if rng.random() < 0.2:
        xy += xy[-2:]
    return [round(v, 2) for v in xy]


def main():
    images, annotations, results = [], [], []
    ann_id = 1
    for index, (h, w) in enumerate(SIZES):
        image_id = 100 + 7 * index  # sparse, unsorted-looking ids; COCOeval sorts them
        images.append({'id': image_id, 'file_name': f'img{index:02d}.png', 'width': w, 'height': h})
        if index == 8:
            continue  # neither ground truth nor detections
        gts = []
        for _ in range(int(rng.integers(1, 9))):
            mask, (cx, cy, rx, ry) = random_object(h, w)
            if mask.sum() == 0:
                continue
            cat = int(rng.choice(ANNOTATED))
            crowd = rng.random() < 0.1
            form = 'uncompressed' if crowd else rng.choice(['rle', 'rle', 'polygon', 'uncompressed'])
            if form == 'polygon':
                segmentation = [polygon_for(h, w, cx, cy, rx, ry)]
                if rng.random() < 0.3:
                    segmentation.append(polygon_for(h, w, rng.uniform(0, w), rng.uniform(0, h), 3, 3))
                rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, h, w))
                mask = mask_utils.decode(rle).astype(bool)
            elif form == 'uncompressed':
                segmentation = uncompressed(mask)
            else:
                segmentation = encode(mask)
            area = float(mask.sum())
            if rng.random() < 0.25:
                # The file's area need not be the pixel count (COCO's is the polygon's): only it decides the range.
                area = float(rng.choice([32 ** 2, 96 ** 2, round(area * rng.uniform(0.5, 2), 1)]))
            bbox = [float(v) for v in mask_utils.toBbox(encode(mask))]
            annotations.append({'id': ann_id, 'image_id': image_id, 'category_id': cat, 'segmentation': segmentation,
                                'area': area, 'bbox': bbox, 'iscrowd': int(crowd)})
            ann_id += 1
            gts.append((mask, cat, crowd))
        if index == 4:
            continue  # ground truth, no detections
        dets = []
        for mask, cat, crowd in gts:
            for _ in range(3 if crowd else 1):
                if rng.random() < 0.2:
                    continue
                dy, dx = rng.integers(-2, 3, 2)
                moved = np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
                if rng.random() < 0.3:
                    moved = moved & np.roll(moved, 1, axis=1)  # erode a little
                if moved.sum() == 0:
                    continue
                det_cat = cat if rng.random() < 0.85 else int(rng.choice([1, 3, 8, 18]))
                dets.append((moved, det_cat))
        for _ in range(int(rng.integers(0, 4))):
            mask, _ = random_object(h, w)
            if mask.sum() > 0:
                dets.append((mask, int(rng.choice([1, 3, 8, 18]))))
        if index == 1:
            for _ in range(105):  # beyond maxDets = 100, one class, one image
                mask, _ = random_object(h, w)
                if mask.sum() > 0:
                    dets.append((mask, 3, 0.1))
        for mask, cat, *low in dets:
            x, y, bw, bh = [float(v) for v in mask_utils.toBbox(encode(mask))]
            # A detector's box is not the mask's: jitter it, in floats, as dashseg writes x1, y1, x2, y2.
            x1 = round(x + rng.uniform(-1.5, 1.5), 3)
            y1 = round(y + rng.uniform(-1.5, 1.5), 3)
            x2 = round(x + bw + rng.uniform(-1.5, 1.5), 3)
            y2 = round(y + bh + rng.uniform(-1.5, 1.5), 3)
            if x2 < x1:
                x1, x2 = x2, x1
            if y2 < y1:
                y1, y2 = y2, y1
            # One decimal: plenty of ties. The flood of extra detections scores low, as a detector's tail would.
            score = low[0] if low else round(float(rng.uniform(0.05, 1)), 1)
            results.append({'image_id': image_id, 'category_id': cat, 'score': score, 'box': [x1, y1, x2, y2],
                            'bbox': [x1, y1, x2 - x1, y2 - y1], 'segmentation': encode(mask)})

    gt = {'images': images, 'annotations': annotations, 'categories': CATEGORIES}
    expected = {}
    for iou_type in ['segm', 'bbox']:
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        with contextlib.redirect_stdout(io.StringIO()):
            coco_gt.createIndex()
            # Segm results carry only the mask (area = mask area), bbox results only the box (area = w * h).
            keep = 'segmentation' if iou_type == 'segm' else 'bbox'
            dts = coco_gt.loadRes([{k: v for k, v in r.items() if k in ('image_id', 'category_id', 'score', keep)}
                                   for r in copy.deepcopy(results)])
            evaluator = COCOeval(coco_gt, dts, iou_type)
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        precision = evaluator.eval['precision']
        per_category = {}
        for k, cat in enumerate(evaluator.params.catIds):
            all_t = precision[:, :, k, 0, -1]
            t50 = precision[0, :, k, 0, -1]
            per_category[str(cat)] = [float(np.mean(all_t[all_t > -1])) if (all_t > -1).any() else -1.0,
                                      float(np.mean(t50[t50 > -1])) if (t50 > -1).any() else -1.0]
        expected[iou_type] = {'stats': [float(s) for s in evaluator.stats], 'perCategory': per_category}

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump({'generator': {'pycocotools': version('pycocotools'), 'numpy': np.__version__},
                   'gt': gt, 'results': results, 'expected': expected}, f, separators=(',', ':'))
        f.write('\n')
    print(f'{OUT}: {len(images)} images, {len(annotations)} ground truths, {len(results)} detections')
    for iou_type, e in expected.items():
        print(iou_type, ' '.join(f'{s:.4f}' for s in e['stats']))


if __name__ == '__main__':
    main()
