#!/usr/bin/python3
"""A tiny, seeded torchvision Mask R-CNN and what torchvision makes of a few images with it.

The model is torchvision's own MaskRCNN with every width small (narrow ResNet, 16-channel FPN, 32-wide box head,
16-channel mask head, 5 classes), so its checkpoints weigh a few hundred kB and can be committed; dashseg converts
them like any user's checkpoint (`dashseg weights convert`) and must reproduce torchvision's detections.

Random weights give near-uniform class scores, so every proposal would tie with every other. To get decisive,
well-separated detections the classifier is scaled up and the regression and mask logits scaled down, as the
maskrcnn spec (section 14) advises.

Run with Debian's python3 (torch 1.13, torchvision 0.14): /usr/bin/python3 tools/parity/make_maskrcnn_fixtures.py

Writes test/fixtures/maskrcnn/:
    tiny.pt                     zip-format checkpoint, float32 state dict
    tiny-legacy-fp16.pt         the same weights as float16, legacy (torch < 1.6) serialization, nested under 'model'
    labels.txt                  the 4 class names (background implied)
    image{i}.npy                uint8 [H, W, 3] inputs
    image{i}_boxes.npy ...      torchvision's output for each image: boxes [D,4] f32, scores [D] f32, labels [D] i64,
                                masks_packed: the [D, H, W] masks (probability >= 0.5) as numpy.packbits bits
"""
import math
import os
import sys

import numpy as np
import torch
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.resnet import BasicBlock
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_backbone_fixtures import NarrowResNet, make_images, randomize  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'maskrcnn')
LABELS = ['car', 'person', 'truck', 'bicycle']
FPN, REPRESENTATION, MASK = 16, 32, 16


def build(generator):
    body = NarrowResNet(BasicBlock, [1, 1, 1, 1], [8, 16, 24, 32], 8, 1e-5)
    backbone = BackboneWithFPN(body, {'layer1': '0', 'layer2': '1', 'layer3': '2', 'layer4': '3'},
                               [8, 16, 24, 32], FPN, extra_blocks=LastLevelMaxPool())
    model = MaskRCNN(
        backbone,
        min_size=96, max_size=160,
        box_head=TwoMLPHead(FPN * 7 * 7, REPRESENTATION),
        box_predictor=FastRCNNPredictor(REPRESENTATION, len(LABELS) + 1),
        mask_head=MaskRCNNHeads(FPN, (MASK, MASK, MASK, MASK), 1),
        mask_predictor=MaskRCNNPredictor(MASK, MASK, len(LABELS) + 1),
    )
    randomize(model, generator)
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.weight.data = torch.randn(module.weight.shape, generator=generator) * math.sqrt(2.0 / module.in_features)
            module.bias.data = torch.randn(module.bias.shape, generator=generator) * 0.1
        elif isinstance(module, torch.nn.ConvTranspose2d):
            module.weight.data = torch.randn(module.weight.shape, generator=generator) * math.sqrt(2.0 / module.in_channels)
            module.bias.data = torch.randn(module.bias.shape, generator=generator) * 0.1
    with torch.no_grad():
        predictor = model.roi_heads.box_predictor
        predictor.cls_score.weight *= 0.03
        predictor.bbox_pred.weight *= 0.002
        # The FPN features of an unnormalized random network are large: small regression weights and no regression
        # bias keep proposals and detections near their anchors instead of collapsing into slivers.
        model.rpn.head.bbox_pred.weight *= 0.002
        model.rpn.head.bbox_pred.bias.zero_()
        predictor.bbox_pred.bias.zero_()
        model.roi_heads.mask_predictor.mask_fcn_logits.weight *= 4.0
    return model.eval()


def save(name, array, out=OUT):
    np.save(os.path.join(out, name), np.ascontiguousarray(array))


def save_detections(prefix, output, out=OUT):
    """A torchvision detection result in the layout test/support/parity-reference.ts reads."""
    save(f'{prefix}_boxes.npy', output['boxes'].numpy().astype(np.float32), out)
    save(f'{prefix}_scores.npy', output['scores'].numpy().astype(np.float32), out)
    save(f'{prefix}_labels.npy', output['labels'].numpy().astype(np.int64), out)
    # Bits, packed 8 to a byte along the flattened [D, H, W] array (numpy.packbits, big-endian bit order).
    save(f'{prefix}_masks_packed.npy', np.packbits((output['masks'][:, 0] >= 0.5).numpy()), out)


def main():
    os.makedirs(OUT, exist_ok=True)
    generator = torch.Generator().manual_seed(20261125)
    model = build(generator)
    state = model.state_dict()
    torch.save(state, os.path.join(OUT, 'tiny.pt'))
    half = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
    torch.save({'model': half, 'epoch': 7}, os.path.join(OUT, 'tiny-legacy-fp16.pt'), _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, 'labels.txt'), 'w') as f:
        f.write('\n'.join(LABELS) + '\n')

    images = make_images(generator)
    with torch.no_grad():
        for index, image in enumerate(images):
            save(f'image{index}.npy', image.permute(1, 2, 0).numpy())
            output = model([image.float() / 255])[0]
            save_detections(f'image{index}', output)
            scores = output['scores'].numpy()
            print(f'image {index} {tuple(image.shape)}: {len(scores)} detections, scores {np.round(scores[:8], 3)}')
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'wrote {total / 1e3:.0f} kB to {OUT}')


if __name__ == '__main__':
    main()
