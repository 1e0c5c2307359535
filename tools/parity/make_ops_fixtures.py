#!/usr/bin/python3
"""Write the reference arrays that test/ops-*.test.ts compare src/model/ops/ against.

Every expected value comes from torchvision's own code (BoxCoder, AnchorGenerator, torchvision.ops.nms and
batched_nms, roi_align, MultiScaleRoIAlign, paste_masks_in_image), so the fixtures carry torchvision's behaviour,
not a re-implementation of it. Inputs are chosen to hit the rules that are easy to get wrong: dw/dh beyond the
log(1000/16) clamp, the 'pool' anchor stride of 61, tied scores and IoUs within a few ULPs of the threshold,
zero-area boxes (0/0 IoU), RoIs that are tiny, inverted, outside the map or straddling its border, level-mapper
boundaries, and mask boxes that are partly outside the image or smaller than a pixel.

Run with Debian's python3, which has torch 1.13 and torchvision 0.14 (the python3 first on PATH may not):
    /usr/bin/python3 tools/parity/make_ops_fixtures.py

Layout of test/fixtures/ops/ (all numpy.save, float32 unless noted; feature maps and pooled outputs are stored
NHWC, the layout TF.js uses, so the tests compare without transposing):
    box_coder/reference.npy      [N, 4] anchors/proposals
    box_coder/deltas.npy         [N, 8] two sets of (dx, dy, dw, dh) per box, some beyond the clamp
    box_coder/decoded_1111.npy   [N, 8] BoxCoder((1, 1, 1, 1)).decode_single
    box_coder/decoded_10555.npy  [N, 8] BoxCoder((10, 10, 5, 5)).decode_single
    box_coder/targets.npy        [M, 4] boxes to encode (M: the reference boxes with a non-zero width)
    box_coder/reference_encode.npy [M, 4] the reference boxes they are encoded against
    box_coder/encoded_10555.npy  [M, 4] BoxCoder((10, 10, 5, 5)).encode_single(targets, reference_encode)
    anchors/cell_default.npy     [5, 3, 4] cell anchors of the Mask R-CNN AnchorGenerator
    anchors/cell_custom.npy      [6, 4] cell anchors for sizes (5, 7), ratios (0.25, 1, 4): exact .5 halves
    anchors/{Hp}x{Wp}_grid.npy   int64 [5, 2] feature sizes (h, w) given to AnchorGenerator (FPN sizes for Hp x Wp)
    anchors/{Hp}x{Wp}_counts.npy int64 [5] anchors per level
    anchors/{Hp}x{Wp}_sums.npy   float64 [5, 4] per-level column sums of the anchors (a checksum)
    anchors/{Hp}x{Wp}_index.npy  int64 [M] rows sampled from the concatenated anchors
    anchors/{Hp}x{Wp}_rows.npy   [M, 4] those rows
    anchors/64x96_all.npy        [A, 4] every anchor of the small case
    nms/{case}_boxes.npy, _scores.npy, [_groups.npy int64], _keep_{thr}.npy int64   inputs and torchvision's output
    nms/sort_values.npy          [3000] tie-heavy values with NaN and infinities
    nms/sort_order.npy           int64 [3000] torch.sort(descending=True).indices (the unstable CPU sort)
    roi_align/features.npy       [2, 12, 16, 3] NHWC
    roi_align/boxes.npy          [K, 4] in image coordinates (spatial scale 0.5)
    roi_align/batch.npy          int64 [K] image index of each RoI
    roi_align/out_{P}_{g}.npy    [K, P, P, 3] roi_align(output P, sampling_ratio g, aligned=False)
    msra/features_{0..3}.npy     [2, h, w, 3] FPN levels '0'..'3' of a 128x160 padded batch
    msra/boxes.npy, batch.npy    RoIs of both images, concatenated, and their image index
    msra/image_sizes.npy         int64 [2, 2] the (h, w) of each image before padding
    msra/levels.npy              int64 [K] level index torchvision's LevelMapper assigned
    msra/out_{7,14}.npy          [K, P, P, 3] MultiScaleRoIAlign(['0'..'3'], P, 2)
    msra/mapper_boxes.npy        [B, 4] boxes whose sqrt(area) is 112, 224 or 448 up to rounding
    msra/mapper_levels.npy       int64 [B] LevelMapper(2, 5) of them
    paste/masks.npy              [D, 28, 28] probabilities
    paste/boxes.npy              [D, 4] boxes in original-image coordinates
    paste/image_size.npy         int64 [2] (H0, W0)
    paste/int_boxes.npy          int64 [D, 4] expand_boxes(boxes, 30/28).to(int64)
    paste/pasted.npy             [D, H0, W0] paste_masks_in_image(...)[:, 0]
    paste/expand_boxes.npy       [B, 4] more boxes, for the integerization alone
    paste/expand_int_boxes.npy   int64 [B, 4] expand_boxes(expand_boxes, 30/28).to(int64)
"""
import os
import shutil
from collections import OrderedDict

import numpy as np
import torch
import torchvision
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import expand_boxes, expand_masks, paste_masks_in_image
from torchvision.ops import MultiScaleRoIAlign, batched_nms, nms, roi_align
from torchvision.ops.poolers import LevelMapper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'ops')
rng = np.random.RandomState(20240605)
f32 = np.float32


def save(name, array):
    path = os.path.join(OUT, name + '.npy')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array))


def nchw_to_nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous().numpy()


def box_coder():
    n = 64
    xy = rng.uniform(-50, 600, (n, 2))
    wh = rng.uniform(0.5, 300, (n, 2))
    reference = np.concatenate([xy, xy + wh], 1).astype(f32)
    reference[0] = [10, 10, 10, 40]  # zero width: decodes to a zero-width box, never NaN
    deltas = rng.normal(0, 1.5, (n, 8)).astype(f32)
    # Beyond log(1000/16) = 4.135 after dividing by the weights, for both coders, so the clamp is exercised.
    deltas[1:6, 2] = [5, 9, 30, 25, 100]
    deltas[6:9, 7] = [21, 50, 4.2]
    deltas[9, 2:4] = [-30, -40]  # no lower clamp: tiny boxes
    save('box_coder/reference', reference)
    save('box_coder/deltas', deltas)
    for weights, tag in (((1.0, 1.0, 1.0, 1.0), '1111'), ((10.0, 10.0, 5.0, 5.0), '10555')):
        coder = BoxCoder(weights)
        decoded = coder.decode_single(torch.from_numpy(deltas), torch.from_numpy(reference))
        save(f'box_coder/decoded_{tag}', decoded.numpy())
    targets_xy = xy + rng.uniform(-20, 20, (n, 2))
    targets = np.concatenate([targets_xy, targets_xy + wh * rng.uniform(0.5, 2, (n, 2))], 1).astype(f32)
    ok = reference[:, 2] > reference[:, 0]
    save('box_coder/targets', targets[ok])
    save('box_coder/reference_encode', reference[ok])
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    save('box_coder/encoded_10555',
         coder.encode_single(torch.from_numpy(targets[ok]), torch.from_numpy(reference[ok])).numpy())


def fpn_sizes(hp, wp):
    sizes = [(hp // s, wp // s) for s in (4, 8, 16, 32)]
    # LastLevelMaxPool is max_pool2d(kernel 1, stride 2): ceil of half of level '3'.
    sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
    return sizes


def anchors():
    sizes = ((32,), (64,), (128,), (256,), (512,))
    ratios = ((0.5, 1.0, 2.0),) * 5
    generator = AnchorGenerator(sizes, ratios)
    save('anchors/cell_default', torch.stack(generator.cell_anchors).numpy())
    custom = AnchorGenerator(((5, 7),), ((0.25, 1.0, 4.0),))
    save('anchors/cell_custom', custom.cell_anchors[0].numpy())
    for hp, wp in ((800, 1088), (800, 1216), (1216, 800), (32, 1344), (800, 800), (64, 96)):
        grid = fpn_sizes(hp, wp)
        images = ImageList(torch.zeros(1, 3, hp, wp), [(hp, wp)])
        features = [torch.zeros(1, 1, h, w) for h, w in grid]
        all_anchors = generator(images, features)[0].numpy()
        counts = [h * w * 3 for h, w in grid]
        starts = np.cumsum([0] + counts)
        sums = np.stack([all_anchors[starts[i]:starts[i + 1]].astype(np.float64).sum(0) for i in range(5)])
        tag = f'anchors/{hp}x{wp}'
        save(tag + '_grid', np.array(grid, dtype=np.int64))
        save(tag + '_counts', np.array(counts, dtype=np.int64))
        save(tag + '_sums', sums)
        # The first and last rows of every level, plus a spread of rows in between.
        index = set()
        for i in range(5):
            index.update(range(starts[i], min(starts[i] + 9, starts[i + 1])))
            index.update(range(max(starts[i + 1] - 9, starts[i]), starts[i + 1]))
        index.update(range(0, len(all_anchors), 997))
        index = np.array(sorted(index), dtype=np.int64)
        save(tag + '_index', index)
        save(tag + '_rows', all_anchors[index])
        if hp * wp <= 64 * 96:
            save(tag + '_all', all_anchors)


def iou_shift(width, threshold):
    """Horizontal shift of an equal-sized copy of a box that gives exactly `threshold` IoU: (w-d)/(w+d) = t."""
    return width * (1 - threshold) / (1 + threshold)


def near_threshold_pairs(threshold, count, origin):
    """Pairs of boxes whose float32 IoU lands on both sides of the threshold within a few ULPs."""
    boxes, scores = [], []
    for k in range(count):
        x, y = origin[0] + (k % 10) * 60.0, origin[1] + (k // 10) * 60.0
        w, h = rng.uniform(10, 40), rng.uniform(10, 40)
        d = iou_shift(w, threshold) * (1 + (k - count // 2) * 2e-7)
        a = [x, y, x + w, y + h]
        b = [x + d, y, x + d + w, y + h]
        boxes += [a, b]
        scores += [rng.uniform(0.5, 1), rng.uniform(0, 0.5)]
    return boxes, scores


def nms_cases():
    thresholds = (0.5, 0.7)

    # Clustered random boxes with quantized scores, so many scores tie exactly.
    n = 240
    centers = rng.uniform(0, 200, (12, 2))
    c = centers[rng.randint(0, 12, n)] + rng.normal(0, 6, (n, 2))
    wh = rng.uniform(8, 40, (n, 2))
    boxes = np.concatenate([c - wh / 2, c + wh / 2], 1).tolist()
    scores = (np.floor(rng.uniform(0, 1, n) * 16) / 16).tolist()
    for threshold, origin in zip(thresholds, ((300.0, 0.0), (300.0, 300.0))):
        b, s = near_threshold_pairs(threshold, 40, origin)
        boxes += b
        scores += s
    # IoU exactly 0.5 (integer corners): kept, suppression is strictly greater.
    boxes += [[3000, 0, 3004, 4], [3000, 0, 3004, 2]]
    scores += [0.9, 0.8]
    # IoU 7/10 exactly: float32 rounds it to 0.699999988 < 0.7 (a double threshold), so kept.
    boxes += [[3100, 0, 3110, 1], [3103, 0, 3110, 1], [3100, 10, 3110, 11]]
    scores += [0.95, 0.85, 0.3]
    # Two identical zero-area boxes: IoU 0/0 = NaN never suppresses; a zero-area box inside a real one has IoU 0.
    boxes += [[3200, 5, 3200, 5], [3200, 5, 3200, 5], [3195, 0, 3205, 10]]
    scores += [0.4, 0.4, 0.41]
    boxes = np.array(boxes, dtype=f32)
    scores = np.array(scores, dtype=f32)
    save('nms/mixed_boxes', boxes)
    save('nms/mixed_scores', scores)
    for threshold in thresholds:
        keep = nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold)
        save(f'nms/mixed_keep_{threshold}', keep.numpy())

    # NaN scores sort first in torch's descending sort and so are kept first.
    nan_boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30], [1, 1, 11, 11], [5, 5, 5, 5]], dtype=f32)
    nan_scores = np.array([0.5, np.nan, 0.5, 0.9, 0.3], dtype=f32)
    save('nms/nan_boxes', nan_boxes)
    save('nms/nan_scores', nan_scores)
    save('nms/nan_keep_0.5', nms(torch.from_numpy(nan_boxes), torch.from_numpy(nan_scores), 0.5).numpy())

    # torch's unstable descending CPU sort (what batched_nms's per-class path ends with) on tie-heavy values.
    values = (np.floor(rng.uniform(0, 1, 3000) * 20) / 20).astype(f32)
    values[rng.randint(0, 3000, 30)] = np.nan
    values[:5] = [np.inf, -np.inf, np.nan, 0.25, -0.0]
    save('nms/sort_values', values)
    save('nms/sort_order', torch.from_numpy(values).sort(descending=True).indices.numpy())

    # batched_nms, both of torchvision's code paths. Corners are multiples of 1/16 below 2048 and group ids are
    # small, so the coordinate-offset trick (<= 1000 boxes) adds offsets without rounding and its result is the
    # per-group one exactly; the > 1000 case takes the per-class loop. Scores tie within and across groups.
    for case, n, groups in (('batched_small', 600, 5), ('batched_large', 1500, 7)):
        centers = rng.uniform(0, 400, (20, 2))
        c = centers[rng.randint(0, 20, n)] + rng.normal(0, 8, (n, 2))
        wh = rng.uniform(8, 60, (n, 2))
        b = np.round(np.concatenate([c - wh / 2, c + wh / 2], 1) * 16) / 16
        b = np.clip(b, 0, 2000).astype(f32)
        s = (np.floor(rng.uniform(0, 1, n) * 32) / 32).astype(f32)
        g = rng.randint(0, groups, n).astype(np.int64)
        save(f'nms/{case}_boxes', b)
        save(f'nms/{case}_scores', s)
        save(f'nms/{case}_groups', g)
        for threshold in thresholds:
            keep = batched_nms(torch.from_numpy(b), torch.from_numpy(s), torch.from_numpy(g), threshold)
            save(f'nms/{case}_keep_{threshold}', keep.numpy())


def roi_boxes(k, height, width):
    """RoIs in image coordinates for a `height` x `width` image: ordinary, tiny, inverted, outside, straddling."""
    xy = rng.uniform(-0.1 * width, 0.9 * width, (k, 2)) * [1, height / width]
    wh = rng.uniform(1, 0.6 * width, (k, 2))
    boxes = np.concatenate([xy, xy + wh], 1)
    special = [
        [5.0, 5.0, 5.3, 5.2],  # smaller than one feature pixel: max(size, 1) makes it 1x1
        [7.0, 9.0, 7.0, 9.0],  # zero area
        [20.0, 15.0, 12.0, 10.0],  # inverted
        [-30.0, -25.0, -3.0, -1.5],  # left of and above the image
        [width + 2.0, height + 1.0, width + 30.0, height + 9.0],  # right of and below
        [-4.0, -3.0, 9.0, 8.0],  # straddling the top-left corner
        [width - 9.0, height - 7.0, width + 5.0, height + 3.0],  # straddling the bottom-right corner
        [-2.5, 4.0, width + 2.5, 10.0],  # wider than the image
        [0.0, 0.0, float(width), float(height)],  # exactly the image
        [width - 1.0, height - 1.0, float(width), float(height)],  # the last pixel
    ]
    boxes[: len(special)] = special
    return boxes.astype(f32)


def roi_align_cases():
    n, c, h, w = 2, 3, 12, 16
    features = torch.from_numpy(rng.uniform(-1, 1, (n, c, h, w)).astype(f32))
    scale = 0.5
    boxes = roi_boxes(40, h / scale, w / scale)
    batch = rng.randint(0, n, len(boxes)).astype(np.int64)
    rois = torch.cat([torch.from_numpy(batch.astype(f32))[:, None], torch.from_numpy(boxes)], 1)
    save('roi_align/features', nchw_to_nhwc(features))
    save('roi_align/boxes', boxes)
    save('roi_align/batch', batch)
    for size, ratio in ((7, 2), (14, 2), (5, 3), (1, 1)):
        out = roi_align(features, rois, (size, size), spatial_scale=scale, sampling_ratio=ratio, aligned=False)
        save(f'roi_align/out_{size}_{ratio}', nchw_to_nhwc(out))


def msra_cases():
    hp, wp, c = 128, 160, 3
    image_sizes = [(100, 140), (90, 150)]
    features = OrderedDict()
    for name, stride in zip('0123', (4, 8, 16, 32)):
        features[name] = torch.from_numpy(rng.uniform(-1, 1, (2, c, hp // stride, wp // stride)).astype(f32))
    features['pool'] = torch.zeros(2, c, 2, 3)  # present in the dict, ignored by the pooler as in Mask R-CNN
    per_image = []
    for i, (h, w) in enumerate(image_sizes):
        boxes = roi_boxes(24, h, w)
        # Level boundaries of FPN eq. 1: sides 112 and 224 and 448 (square boxes), and just below them.
        boundary = [112.0, 111.9, 224.0, 223.99, 448.0, 447.9, 60.0, 300.0]
        for j, side in enumerate(boundary):
            x0, y0 = 3.0 + j, 2.0 + j
            boxes[10 + j] = [x0, y0, x0 + side, y0 + side]
        # Large boxes for levels '2' and '3' (most random boxes land on '0' and '1').
        big = rng.uniform(150, 500, (6, 2))
        xy = rng.uniform(-50, 50, (6, 2))
        # Inverted in x only: the area is negative, its sqrt NaN, and the NaN level matches no level, so
        # torchvision leaves this RoI's output at zero.
        boxes[18] = [30.0, 10.0, 20.0, 40.0]
        boxes = np.concatenate([boxes, np.concatenate([xy, xy + big], 1).astype(f32)])
        per_image.append(torch.from_numpy(boxes))
    outputs = {}
    for size in (7, 14):
        pooler = MultiScaleRoIAlign(['0', '1', '2', '3'], size, 2)
        outputs[size] = pooler(features, per_image, image_sizes)
    levels = pooler.map_levels(per_image)
    for i, name in enumerate('0123'):
        save(f'msra/features_{i}', nchw_to_nhwc(features[name]))
    save('msra/boxes', torch.cat(per_image).numpy())
    save('msra/batch', np.concatenate([np.full(len(b), i, dtype=np.int64) for i, b in enumerate(per_image)]))
    save('msra/image_sizes', np.array(image_sizes, dtype=np.int64))
    save('msra/levels', levels.numpy())
    for size, out in outputs.items():
        save(f'msra/out_{size}', nchw_to_nhwc(out))

    # The level mapper alone, on boxes whose sqrt(area) is a level boundary (112, 224, 448) up to float32 rounding.
    # For a few in a thousand the 1e-6 eps is what lifts floor() to the upper level: keep all of those and some others.
    sides = np.repeat([112.0, 224.0, 448.0], 2000)
    aspect = np.sqrt(rng.uniform(0.3, 3, len(sides)))
    xy = rng.uniform(0, 300, (len(sides), 2))
    wh = np.stack([sides * aspect, sides / aspect], 1)
    candidates = torch.from_numpy(np.concatenate([xy, xy + wh], 1).astype(f32))
    depends = pooler.map_levels([candidates]) != LevelMapper(2, 5, eps=0.0)([candidates])
    assert depends.sum() > 5, 'no box depends on the eps'
    chosen = torch.cat([torch.where(depends)[0], torch.where(~depends)[0][::40]])
    mapper_boxes = candidates[chosen]
    mapper_levels = pooler.map_levels([mapper_boxes])
    save('msra/mapper_boxes', mapper_boxes.numpy())
    save('msra/mapper_levels', mapper_levels.numpy())


def paste_cases():
    height, width = 40, 56
    d = 14
    masks = torch.sigmoid(torch.from_numpy(rng.normal(0, 2, (d, 1, 28, 28)).astype(f32)))
    xy = rng.uniform(-10, 50, (d, 2)) * [1, height / width]
    wh = rng.uniform(0.2, 45, (d, 2))
    boxes = np.concatenate([xy, xy + wh], 1)
    special = [
        [-0.1, -0.05, 20.3, 30.7],  # expansion goes below zero by less than 1: truncation gives 0, floor -1
        [-15.7, -12.2, 10.4, 8.9],  # partly outside top-left
        [45.2, 32.1, 80.8, 56.6],  # partly outside bottom-right
        [10.2, 10.2, 10.3, 10.3],  # tiny: one pixel after the +1
        [30.0, 20.0, 30.0, 20.0],  # zero size
        # (A box entirely right of or below the image makes torchvision's slicing raise, and one entirely left of
        # or above it wraps negative indices, so those have no reference; clipped detections never are.)
        [56.0, 10.0, 56.0, 30.0],  # zero width on the right edge: nothing to paste
        [-5.0, -5.0, 60.0, 45.0],  # covers the image
        [12.5, 3.25, 13.75, 37.5],  # thin
    ]
    boxes[: len(special)] = special
    boxes = torch.from_numpy(boxes.astype(f32))
    _, scale = expand_masks(masks, padding=1)
    int_boxes = expand_boxes(boxes, scale).to(dtype=torch.int64)
    pasted = paste_masks_in_image(masks, boxes, (height, width), padding=1)
    save('paste/masks', masks[:, 0].numpy())
    save('paste/boxes', boxes.numpy())
    save('paste/image_size', np.array([height, width], dtype=np.int64))
    save('paste/int_boxes', int_boxes.numpy())
    save('paste/pasted', pasted[:, 0].numpy())

    # expand_boxes alone on more boxes, including ones whose truncated corner depends on the scale being rounded to
    # float32 before the multiply (with the double 30/28, 451.99997 would be 452.0 and truncate to 452).
    more = rng.uniform(-50, 900, (200, 2))
    more = np.concatenate([more, more + rng.uniform(0, 400, (200, 2))], 1).astype(f32)
    more[:4] = [[156.35954, 0, 441.80548, 10], [187.49362, 0, 345.36182, 10],
                [457.63388, 0, 727.38367, 10], [454.8179, 0, 505.72003, 10]]
    save('paste/expand_boxes', more)
    save('paste/expand_int_boxes', expand_boxes(torch.from_numpy(more), scale).to(dtype=torch.int64).numpy())


def main():
    assert torchvision.__version__.startswith('0.14'), torchvision.__version__
    torch.set_num_threads(1)
    shutil.rmtree(OUT, ignore_errors=True)
    box_coder()
    anchors()
    nms_cases()
    roi_align_cases()
    msra_cases()
    paste_cases()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f'wrote {OUT} ({total / 1024:.0f} kB)')
    assert total < 1024 * 1024, 'fixtures must stay under 1 MB'


if __name__ == '__main__':
    main()
