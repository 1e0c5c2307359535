#!/usr/bin/python3
"""Write the reference tensors that test/transform.test.ts and test/backbone.test.ts compare dashseg against.

Everything comes from torchvision's own modules (GeneralizedRCNNTransform, ResNet._make_layer with BasicBlock and
Bottleneck, FrozenBatchNorm2d, BackboneWithFPN with LastLevelMaxPool), so the fixtures carry torchvision's
behaviour, not a re-implementation of it. The networks are full-structure ResNets with small widths: the weights then
fit in a few hundred kB while every code path (stem, both block types, blocks with and without a projection shortcut,
stride-2 stages, FPN top-down pass, the 'pool' level) is exercised.

Run with Debian's python3, which has torch 1.13 and torchvision 0.14 (the python3 first on PATH may not):
    /usr/bin/python3 tools/parity/make_backbone_fixtures.py

Layout of test/fixtures/backbone/ (all numpy.save; tensors keep PyTorch's NCHW layout):
    images/image{i}.npy             the generated RGB images, uint8 [H, W, 3] as a decoder would deliver them
    transform/batch.npy             GeneralizedRCNNTransform output, float32 [N, 3, Hp, Wp]
    transform/image_sizes.npy       int32 [N, 2], (h, w) after resize, before padding
    transform/boxes{i}.npy          float32 [K, 4] boxes in resized coordinates
    transform/boxes{i}_orig.npy     the same boxes after GeneralizedRCNNTransform.postprocess's resize_boxes
    transform/resize_cases.npy      int64 [M, 6]: H, W, min_size, max_size, and torchvision's resized h, w
    transform/resize_scales.npy     float64 [M]: the scale factor torchvision passed to interpolate
    {variant}/weights/{key}.npy     the state dict of BackboneWithFPN under its detection names (backbone.body...)
    {variant}/meta.npy              float64 [eps]: the FrozenBatchNorm2d eps the variant was built with
    {variant}/c{2..5}.npy           body outputs for transform/batch.npy
    {variant}/fpn_{name}.npy        FPN outputs '0', '1', '2', '3', 'pool'
"""
import math
import os
import shutil
from collections import OrderedDict

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.transform import GeneralizedRCNNTransform, _resize_image_and_masks, resize_boxes
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
from torchvision.ops.misc import FrozenBatchNorm2d
from torchvision.transforms.functional import convert_image_dtype

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'backbone')
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
# Small enough for tiny tensors; 61x47 resizes to 83x63, the 63-instead-of-64 case of the f32 scale rule (the
# small-size twin of 799 instead of 800).
MIN_SIZE, MAX_SIZE = 64, 112
IMAGE_SIZES = [(45, 70), (61, 47)]


class NarrowResNet(ResNet):
    """torchvision's ResNet with every width a constructor argument (ResNet itself hard-wires 64/128/256/512).

    Only __init__ differs: the layers come from ResNet._make_layer, so module (and so state-dict) names, block
    internals, where the stride goes and when a block gets a downsample are exactly torchvision's.
    """

    def __init__(self, block, layers, widths, stem, eps):
        nn.Module.__init__(self)
        self._norm_layer = lambda channels: FrozenBatchNorm2d(channels, eps=eps)
        self.inplanes = stem
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)


def randomize(model, generator):
    """Non-trivial weights everywhere, so that a mix-up of any two tensors or a skipped fold shows."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
            # He init keeps activations near unit scale through the depth, so relative errors mean something.
            module.weight.data = torch.randn(module.weight.shape, generator=generator) * math.sqrt(2.0 / fan_out)
            if module.bias is not None:
                module.bias.data = torch.randn(module.bias.shape, generator=generator) * 0.1
        elif isinstance(module, FrozenBatchNorm2d):
            c = module.weight.shape[0]
            module.weight.copy_(torch.rand(c, generator=generator) + 0.5)
            module.bias.copy_(torch.randn(c, generator=generator) * 0.2)
            module.running_mean.copy_(torch.randn(c, generator=generator) * 0.3)
            # Variances down to 0.05 make the eps of 1e-5 matter at the 1e-4 level, so a wrong eps is caught.
            module.running_var.copy_(torch.rand(c, generator=generator) * 1.5 + 0.05)


def make_images(generator):
    images = []
    for h, w in IMAGE_SIZES:
        # Smooth content plus noise: bilinear resizing of pure noise would hide an off-by-half-pixel error less well
        # than of gradients, and pure gradients would hide a swapped axis.
        low = torch.rand((1, 3, 5, 6), generator=generator)
        smooth = torch.nn.functional.interpolate(low, size=(h, w), mode='bicubic', align_corners=False)[0]
        noise = torch.rand((3, h, w), generator=generator) * 0.3 - 0.15
        images.append(((smooth + noise).clamp(0, 1) * 255).round().to(torch.uint8))
    return images


def save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array))


def resize_cases(generator):
    """(H, W, min, max) -> torchvision's resized size, for the scale rule test."""
    settings = [(800, 1333), (64, 112), (600, 1000), (512, 853), (1024, 1024)]
    cases, scales = [], []
    for index in range(600):
        min_size, max_size = settings[index % len(settings)]
        h = int(torch.randint(16, 4097, (1,), generator=generator))
        w = int(torch.randint(16, 4097, (1,), generator=generator))
        # An expanded zero tensor: interpolate runs for real (it decides the output size) without a large input.
        image = torch.zeros((1, 1, 1)).expand(1, h, w)
        resized, _ = _resize_image_and_masks(image, float(min_size), float(max_size))
        # The scale itself, as _resize_image_and_masks computes it (it does not return it).
        t = torch.tensor([h, w])
        short, long = torch.min(t).to(torch.float32), torch.max(t).to(torch.float32)
        scale = torch.min(float(min_size) / short, float(max_size) / long)
        cases.append([h, w, min_size, max_size, resized.shape[-2], resized.shape[-1]])
        scales.append(scale.item())
    return np.array(cases, dtype=np.int64), np.array(scales, dtype=np.float64)


def build_variant(name, block, layers, widths, stem, eps, fpn_channels, generator, batch):
    body = NarrowResNet(block, layers, widths, stem, eps)
    expansion = block.expansion
    model = BackboneWithFPN(
        body,
        return_layers={'layer1': '0', 'layer2': '1', 'layer3': '2', 'layer4': '3'},
        in_channels_list=[w * expansion for w in widths],
        out_channels=fpn_channels,
        extra_blocks=LastLevelMaxPool(),
    )
    randomize(model, generator)
    model.eval()
    folder = os.path.join(OUT, name)
    # Detection names: BackboneWithFPN is `model.backbone` inside MaskRCNN.
    for key, value in model.state_dict().items():
        save(os.path.join(folder, 'weights', f'backbone.{key}.npy'), value.numpy().astype(np.float32))
    save(os.path.join(folder, 'meta.npy'), np.array([eps], dtype=np.float64))
    with torch.no_grad():
        features = model.body(batch)
        for index, feature in enumerate(features.values()):
            save(os.path.join(folder, f'c{index + 2}.npy'), feature.numpy())
        pyramid = model.fpn(features)
        assert list(pyramid.keys()) == ['0', '1', '2', '3', 'pool']
        for level, feature in pyramid.items():
            save(os.path.join(folder, f'fpn_{level}.npy'), feature.numpy())
        # The same through BackboneWithFPN.forward, so the saved pieces are what the detector really computes.
        whole = model(batch)
        for level in pyramid:
            assert torch.equal(whole[level], pyramid[level])


def main():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(20240611)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)

    images = make_images(generator)
    for index, image in enumerate(images):
        save(os.path.join(OUT, 'images', f'image{index}.npy'), image.permute(1, 2, 0).numpy())

    transform = GeneralizedRCNNTransform(MIN_SIZE, MAX_SIZE, MEAN, STD)
    transform.eval()
    floats = [convert_image_dtype(image, torch.float) for image in images]
    image_list, _ = transform(floats)
    batch = image_list.tensors
    save(os.path.join(OUT, 'transform', 'batch.npy'), batch.numpy())
    save(os.path.join(OUT, 'transform', 'image_sizes.npy'), np.array(image_list.image_sizes, dtype=np.int32))
    sizes = [tuple(i.shape[-2:]) for i in images]
    print('image sizes', sizes, '->', image_list.image_sizes, 'batch', tuple(batch.shape))

    for index, ((h, w), image) in enumerate(zip(image_list.image_sizes, images)):
        corners = torch.rand((6, 2), generator=generator) * torch.tensor([w, h])
        extent = torch.rand((6, 2), generator=generator) * torch.tensor([w, h]) * 0.5
        boxes = torch.cat([corners, (corners + extent).minimum(torch.tensor([w, h]))], dim=1).to(torch.float32)
        original = resize_boxes(boxes, (h, w), tuple(image.shape[-2:]))
        save(os.path.join(OUT, 'transform', f'boxes{index}.npy'), boxes.numpy())
        save(os.path.join(OUT, 'transform', f'boxes{index}_orig.npy'), original.numpy())

    cases, scales = resize_cases(generator)
    save(os.path.join(OUT, 'transform', 'resize_cases.npy'), cases)
    save(os.path.join(OUT, 'transform', 'resize_scales.npy'), scales)
    short_by_one = int(np.sum(np.minimum(cases[:, 4], cases[:, 5]) == cases[:, 2] - 1))
    print(f'{len(cases)} resize cases, {short_by_one} with the short side one below min_size')

    # ResNet-18/34 style: layer1 has no downsample (stem width == layer1 width), eps 1e-5 as in a freshly built model.
    build_variant('basic', BasicBlock, [2, 1, 2, 1], [8, 16, 24, 32], 8, 1e-5, 16, generator, batch)
    # ResNet-50/101 style: expansion 4, layer1 with a stride-1 projection, eps 0 as for the COCO v1 weights.
    build_variant('bottleneck', Bottleneck, [1, 2, 1, 1], [4, 8, 12, 16], 8, 0.0, 16, generator, batch)

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(OUT) for f in files)
    print(f'torch {torch.__version__}, torchvision {torchvision.__version__}: wrote {total / 1e6:.2f} MB to {OUT}')


if __name__ == '__main__':
    main()
