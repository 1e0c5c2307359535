#!/usr/bin/python3
"""The model of `npm run bench:pipeline`: a seeded torchvision Mask R-CNN with a ResNet-18-FPN backbone, saved as a
state dict for dashseg to convert.

torchvision 0.14 has no builder for this pairing, so it is assembled from `resnet_fpn_backbone` and `MaskRCNN`; the
key names and shapes are those of `maskrcnn_resnet50_fpn` with a smaller body, which dashseg's converter recognises.

Random weights score every class near 1/91, so at the CLI's `--score 0.5` nothing would be detected, and the mask
head, the tracker, the painter and the JSON writer would have nothing to do. To give the pipeline a realistic load,
the classifier's row for one class ("car") is scaled by SPREAD (so that its scores spread out instead of bunching at
the threshold) and its bias raised until `target` detections of the given frame score 0.5 or more: bisection on the
bias, with the backbone and RPN run once and only the box head re-run. The frame is the RGB that dashseg's workers
compute from the video, not a JPEG decoded here: a different decoder's pixels change which random proposals win.

Usage: /usr/bin/python3 tools/bench/torchvision_resnet18.py <checkpoint-out.pt> <frame.rgb> <width> <height>
           <min_size> <max_size> <target>
Prints one JSON object: {"torch", "torchvision", "parameters", "carBias", "detections"}.
"""
import json
import sys

import numpy
import torch
import torchvision
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

CAR = 3
SCORE = 0.5
SPREAD = 4.0


def detections_at(model, bias, images, features, proposals):
    model.roi_heads.box_predictor.cls_score.bias[CAR] = bias
    detections, _ = model.roi_heads(features, proposals, images.image_sizes)
    return int((detections[0]['scores'] >= SCORE).sum())


def main():
    checkpoint, frame_path = sys.argv[1], sys.argv[2]
    width, height, min_size, max_size, target = (int(arg) for arg in sys.argv[3:8])
    torch.manual_seed(0)
    backbone = resnet_fpn_backbone(backbone_name='resnet18', weights=None, trainable_layers=5)
    model = MaskRCNN(backbone, num_classes=91, min_size=min_size, max_size=max_size).eval()
    pixels = numpy.fromfile(frame_path, dtype=numpy.uint8).reshape(height, width, 3)
    image = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        images, _ = model.transform([image])
        features = model.backbone(images.tensors)
        proposals, _ = model.rpn(images, features)
        model.roi_heads.box_predictor.cls_score.weight[CAR] *= SPREAD
        # Masks play no part in the count: leave the mask head out of the search.
        mask_pool = model.roi_heads.mask_roi_pool
        model.roi_heads.mask_roi_pool = None
        low, high = 0.0, 20.0
        for _ in range(20):
            middle = (low + high) / 2
            if detections_at(model, middle, images, features, proposals) < target:
                low = middle
            else:
                high = middle
        count = detections_at(model, high, images, features, proposals)
        model.roi_heads.mask_roi_pool = mask_pool
    torch.save(model.state_dict(), checkpoint)
    parameters = sum(p.numel() for p in model.state_dict().values())
    print(json.dumps({'torch': torch.__version__, 'torchvision': torchvision.__version__, 'parameters': parameters, 'carBias': high, 'detections': count}))


if __name__ == '__main__':
    main()
