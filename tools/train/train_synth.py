#!/usr/bin/python3
"""Train dashseg's bundled model: a compact torchvision Mask R-CNN on the synthetic driving scenes of `dashseg synth`.

It is a build-time tool (Debian's python3 with torch 1.13 + torchvision 0.14; the product never needs Python). The
model is torchvision's own MaskRCNN with small widths: a ResNet-18-layout body (BasicBlock [2, 2, 2, 2]) at a
quarter of its channels, a 64-channel FPN, a 256-wide box head and a 64-channel mask head, over torchvision's COCO
label layout (91 slots), so class ids mean what they mean for COCO weights. Training from scratch needs real batch
statistics, so the body trains with BatchNorm; in eval mode BatchNorm is exactly the frozen batch norm dashseg folds
(weight, bias, running mean and variance, eps 1e-5), and the saved state dict has the frozen layout (no
num_batches_tracked), so `dashseg weights convert` reads it like any torchvision checkpoint.

Usage (the commands that made weights/dashseg-synth: eight runs, each continuing the one before; logs in
docs/training/). The first three ran at torchvision's anchor sizes, the first two on 640x360 stills at 360 rows;
the rest on 960x540 stills at 540 rows with anchors half torchvision's, which these defaults now are. Run 5's
data is run 4's images with bicycles' masks outlined (wheels whole) as COCO annotators draw them. Runs 1-5 ran on
a 2-core CPU; runs 6 and 7 on one H200 GPU, 16 images a step, on fresh scenes of seeds 2 and 3 (`--steps 580` and
`--steps 478` repeat their step counts on any machine, about 100 and 85 min on 2 CPU cores); run 8 on one H100, 32
images a step, on 162 datasets of 150 fresh scenes each, seeds 100 to 261, made as 16 processes at once (`--steps
856` repeats it):
    node bin/dashseg.js synth stills --out /tmp/synth-train --count 4000 --seed 1
    OLD="--anchor-sizes 32,64,128,256,512"
    /usr/bin/python3 tools/train/train_synth.py --data /tmp/synth-train --out /tmp/stage1.pt --minutes 50 --lr 0.02 \
        --seed 0 --min-size 360 --max-size 640 $OLD
    /usr/bin/python3 tools/train/train_synth.py --data /tmp/synth-train --out /tmp/stage2.pt --minutes 80 --lr 0.01 \
        --seed 1 --min-size 360 --max-size 640 $OLD --init /tmp/stage1.pt
    /usr/bin/python3 tools/train/train_synth.py --data /tmp/synth-train --out /tmp/stage3.pt --minutes 33 --lr 0.01 \
        --seed 2 $OLD --init /tmp/stage2.pt
    node bin/dashseg.js synth stills --out /tmp/synth-train-540 --count 6000 --seed 1 --width 960 --height 540
    /usr/bin/python3 tools/train/train_synth.py --data /tmp/synth-train-540 --out /tmp/stage4.pt --minutes 115 \
        --lr 0.01 --seed 3 --init /tmp/stage3.pt
    node bin/dashseg.js synth stills --out /tmp/synth-train-540b --count 6000 --seed 1 --width 960 --height 540
    /usr/bin/python3 tools/train/train_synth.py --data /tmp/synth-train-540b --out /tmp/stage5.pt --minutes 95 \
        --lr 0.01 --seed 4 --init /tmp/stage4.pt
    node bin/dashseg.js synth stills --out /tmp/synth-train-2 --count 12000 --seed 2 --width 960 --height 540
    python3 tools/train/train_synth.py --data /tmp/synth-train-2 --out /tmp/stage6.pt --minutes 2.17 --lr 0.02 \
        --batch 16 --seed 5 --init /tmp/stage5.pt --device cuda --workers 12
    node bin/dashseg.js synth stills --out /tmp/synth-train-3 --count 3000 --seed 3 --width 960 --height 540
    python3 tools/train/train_synth.py --data /tmp/synth-train-3 --out /tmp/stage7.pt --minutes 1.82 --lr 0.01 \
        --batch 16 --seed 6 --init /tmp/stage6.pt --device cuda --workers 12
    for s in $(seq 100 261); do
        node bin/dashseg.js synth stills --out /tmp/synth-train-8/s$s --count 150 --seed $s --width 960 --height 540
    done
    python3 tools/train/train_synth.py --data /tmp/synth-train-8/s* --out /tmp/dashseg-synth.pt --minutes 6.4 \
        --lr 0.02 --batch 32 --seed 8 --init /tmp/stage7.pt --device cuda --workers 14
    node bin/dashseg.js weights convert /tmp/dashseg-synth.pt --out weights/dashseg-synth --labels coco \
        --min-size 540 --max-size 960 --anchor-sizes 16,32,64,128,256 --dtype float16 \
        --default-score 0.7 --default-track-iou 0.2

`--crop N` trains on random N x N windows of the stills at their own scale instead of whole stills; an hour of it on
2 cores ends where an hour of whole 360-row stills does (docs/experiments.md, "Training in an hour on 2 cores"):
    node bin/dashseg.js synth stills --out /tmp/w --count 3000 --seed 1 --width 960 --height 540
    /usr/bin/python3 tools/train/train_synth.py --data /tmp/w --out /tmp/crop.pt --minutes 60 --lr 0.02 --seed 0 \
        --crop 320 --batch 8

The operating point (`--default-score`, `--default-track-iou`) was chosen on clips of seeds 9100 to 9103 with
tools/bench/tracking-sweep.ts; docs/experiments.md has the figures.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
from torch import nn
from torchvision.io import read_image
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.resnet import BasicBlock, ResNet
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

NUM_CLASSES = 91


class CompactResNet(ResNet):
    """torchvision's ResNet with its widths as arguments; module names and block layout are torchvision's own."""

    def __init__(self, layers, widths, stem):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = stem
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, widths[0], layers[0])
        self.layer2 = self._make_layer(BasicBlock, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, widths[3], layers[3], stride=2)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')


def add_architecture_arguments(parser):
    """The model's shape and input sizes; the defaults are what the bundled model was trained with."""
    parser.add_argument('--widths', default='16,32,64,128')
    parser.add_argument('--fpn', type=int, default=64)
    parser.add_argument('--representation', type=int, default=256)
    parser.add_argument('--mask', type=int, default=64)
    parser.add_argument('--min-size', type=int, default=540)
    parser.add_argument('--max-size', type=int, default=960)
    parser.add_argument('--anchor-sizes', default='16,32,64,128,256',
                        help="one anchor size per FPN level; half torchvision's, for the small road users of these scenes")


def anchor_generator(args):
    sizes = tuple((int(size),) for size in args.anchor_sizes.split(','))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


def build_model(args):
    widths = [int(w) for w in args.widths.split(',')]
    body = CompactResNet([2, 2, 2, 2], widths, widths[0])
    backbone = BackboneWithFPN(body, {'layer1': '0', 'layer2': '1', 'layer3': '2', 'layer4': '3'},
                               widths, args.fpn, extra_blocks=LastLevelMaxPool())
    return MaskRCNN(
        backbone,
        min_size=args.min_size, max_size=args.max_size, rpn_anchor_generator=anchor_generator(args),
        # Training-time sampling only (inference uses torchvision's defaults, which dashseg reproduces): fewer
        # proposals and RoIs per image keep a CPU step short without changing what the heads learn to do.
        rpn_pre_nms_top_n_train=1000, rpn_post_nms_top_n_train=500, box_batch_size_per_image=128,
        box_head=TwoMLPHead(args.fpn * 7 * 7, args.representation),
        box_predictor=FastRCNNPredictor(args.representation, NUM_CLASSES),
        mask_head=MaskRCNNHeads(args.fpn, (args.mask,) * 4, 1),
        mask_predictor=MaskRCNNPredictor(args.mask, args.mask, NUM_CLASSES),
    )


def decode_rle(rle):
    """COCO compressed RLE (pycocotools' rleFrString) to a [H, W] uint8 tensor; column-major runs."""
    h, w = rle['size']
    s = rle['counts']
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1f) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    flat = torch.zeros(h * w, dtype=torch.uint8)
    pos, value = 0, 0
    for run in counts:
        if value:
            flat[pos:pos + run] = 1
        pos += run
        value ^= 1
    return flat.reshape(w, h).t().contiguous()


# Least pixels of an object a crop must keep for the object to be trained on: the generator's own floor for what it
# annotates at all.
MIN_CROPPED_PIXELS = 30


class SynthDataset:
    """The stills of one or more `dashseg synth stills` datasets, in the order the directories are given; with `crop`,
    each still is seen through a random crop x crop window at its own scale."""

    def __init__(self, roots, crop=None):
        self.crop = crop
        # (dataset directory, image, its annotations) per still: image ids repeat across datasets.
        self.stills = []
        for root in roots:
            with open(os.path.join(root, 'annotations.json')) as f:
                coco = json.load(f)
            by_image = {image['id']: [] for image in coco['images']}
            for annotation in coco['annotations']:
                # dashseg synth marks objects too small to score as crowd + ignore: single objects all the same, so
                # they are trained on; a real crowd (a region of many objects) is not one instance and is left out.
                if not annotation.get('iscrowd', 0) or annotation.get('ignore', False):
                    by_image[annotation['image_id']].append(annotation)
            self.stills.extend((root, image, by_image[image['id']]) for image in coco['images'])

    def __len__(self):
        return len(self.stills)

    def __getitem__(self, key):
        """Image and target for a BatchPlan key: (image index, flip horizontally), then with `crop` where the window
        lies, as fractions of the room it has to move in."""
        index, flip = key[:2]
        root, image_info, annotations = self.stills[index]
        image = read_image(os.path.join(root, image_info['file_name']))[:3].float() / 255
        if self.crop:
            height, width = image.shape[1:]
            x0 = int(key[2] * (width - self.crop + 1))
            y0 = int(key[3] * (height - self.crop + 1))
            # Most of a still's objects lie wholly outside the window: their masks need not be decoded at all.
            annotations = [a for a in annotations
                           if a['bbox'][0] < x0 + self.crop and a['bbox'][0] + a['bbox'][2] > x0
                           and a['bbox'][1] < y0 + self.crop and a['bbox'][1] + a['bbox'][3] > y0]
        boxes = torch.tensor([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
                              for a in annotations], dtype=torch.float32).reshape(-1, 4)
        masks = torch.stack([decode_rle(a['segmentation']) for a in annotations]) if annotations else \
            torch.zeros((0, image.shape[1], image.shape[2]), dtype=torch.uint8)
        labels = torch.tensor([a['category_id'] for a in annotations], dtype=torch.int64)
        if self.crop:
            image, boxes, masks, labels = crop_window(image, masks, labels, x0, y0, self.crop)
        if flip:
            width = image.shape[2]
            image = image.flip(-1)
            masks = masks.flip(-1)
            boxes = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1)
        return image, {'boxes': boxes, 'labels': labels, 'masks': masks}


def crop_window(image, masks, labels, x0, y0, size):
    """The size x size window of a still from (x0, y0), at the still's own scale, so objects keep the pixel sizes the
    model meets at inference. An object the window cuts keeps the part inside, boxed anew from its mask, as the image
    border cuts objects in a whole frame; one left with fewer than MIN_CROPPED_PIXELS is dropped."""
    image = image[:, y0:y0 + size, x0:x0 + size]
    masks = masks[:, y0:y0 + size, x0:x0 + size]
    keep = masks.flatten(1).sum(1) >= MIN_CROPPED_PIXELS
    masks, labels = masks[keep], labels[keep]
    rows, columns = masks.any(2), masks.any(1)
    # A box is the extent of its mask, right and bottom exclusive, as the generator writes it.
    boxes = torch.stack([first_true(columns), first_true(rows),
                         size - first_true(columns.flip(1)), size - first_true(rows.flip(1))], dim=1).float()
    return image, boxes, masks, labels


def first_true(flags):
    """Index of the first True in each row of a [N, L] boolean tensor (every row has one)."""
    return flags.to(torch.uint8).argmax(1)


class BatchPlan:
    """Each batch's keys, (image index, flip) pairs and with `crop` the window's place, drawn from `random` here in
    the main process, so a seed gives the same batches whether images load in this process or in --workers loader
    processes. Without `crop` no place is drawn, so the runs in the docstring draw exactly what they drew."""

    def __init__(self, size, batch, crop=False):
        self.size = size
        self.batch = batch
        self.crop = crop

    def __iter__(self):
        order = []
        while True:
            batch = []
            for _ in range(self.batch):
                if not order:
                    order = list(range(self.size))
                    random.shuffle(order)
                key = (order.pop(), random.random() < 0.5)
                batch.append(key + (random.random(), random.random()) if self.crop else key)
            yield batch


def as_list(batch):
    """The loader's collate: a batch stays a list of (image, target) pairs, as torchvision's detection models take it."""
    return batch


def batches(dataset, args):
    # Its own generator: the loader must not draw from torch's global one, which the detection heads sample RoIs with.
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=BatchPlan(len(dataset), args.batch, bool(args.crop)), collate_fn=as_list,
        num_workers=args.workers, generator=torch.Generator(), pin_memory=args.device.startswith('cuda'),
        **({'prefetch_factor': 4} if args.workers else {}))
    for batch in loader:
        images, targets = zip(*batch)
        yield ([image.to(args.device, non_blocking=True) for image in images],
               [{k: v.to(args.device, non_blocking=True) for k, v in target.items()} for target in targets])


def frozen_state_dict(model):
    """The state dict in torchvision's frozen-BN layout: BatchNorm's step counters are not part of it."""
    return {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()
            if not name.endswith('num_batches_tracked')}


def read_safetensors(path):
    """A safetensors file (what `dashseg weights convert` writes into weights/<name>/) as a float32 state dict."""
    dtypes = {'F16': torch.float16, 'F32': torch.float32, 'BF16': torch.bfloat16}
    with open(path, 'rb') as f:
        header_size = int.from_bytes(f.read(8), 'little')
        header = json.loads(f.read(header_size))
        data = f.read()
    state = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        start, end = entry['data_offsets']
        tensor = torch.frombuffer(bytearray(data[start:end]), dtype=dtypes[entry['dtype']])
        state[name] = tensor.reshape(entry['shape']).float()
    return state


def load_init(model, path):
    """Starts `model` from a checkpoint: a state dict this script saved, or a converted model's weights.safetensors.

    A checkpoint of narrower layers widens `model` without changing what it computes: each tensor is copied into the
    leading slice of the wider one, the new channels keep their fresh initialisation, and the weights from new input
    channels into old output channels are zero, so until training moves them the old channels see exactly what they
    saw before (Net2Net's function-preserving growth, done by zero padding rather than by duplicating units)."""
    init = read_safetensors(path) if path.endswith('.safetensors') else torch.load(path, map_location='cpu')
    state = model.state_dict()
    modules = dict(model.named_modules())
    # The saved state dict leaves out BatchNorm's step counters (see frozen_state_dict): nothing else may be missing.
    missing = [k for k in state if k not in init and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in init if k not in state]
    assert not missing and not unexpected, (missing, unexpected)
    # state_dict() shares the parameters' storage: writing into its tensors writes into the model.
    for name, old in init.items():
        new = state[name]
        if old.shape == new.shape:
            new.copy_(old)
            continue
        assert old.dim() == new.dim() and all(a <= b for a, b in zip(old.shape, new.shape)), (name, old.shape, new.shape)
        new[tuple(slice(0, n) for n in old.shape)] = old
        if old.dim() >= 2:
            # A transposed convolution stores its weight as [in, out, ...], every other layer as [out, in, ...].
            transposed = isinstance(modules[name.rsplit('.', 1)[0]], nn.ConvTranspose2d)
            out_dim, in_dim = (1, 0) if transposed else (0, 1)
            index = [slice(None)] * new.dim()
            index[out_dim] = slice(0, old.shape[out_dim])
            index[in_dim] = slice(old.shape[in_dim], None)
            new[tuple(index)] = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', required=True, nargs='+', help='one or more `dashseg synth stills` datasets')
    parser.add_argument('--out', required=True)
    parser.add_argument('--minutes', type=float, default=45,
                        help='time budget; the learning rate decays over it (ignored with --steps)')
    parser.add_argument('--steps', type=int, default=None,
                        help='train exactly this many steps instead: the same steps on any machine')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--lr', type=float, default=0.02)
    parser.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--device', default='cpu',
                        help='torch device to train on, e.g. cuda; checkpoints are saved for CPU either way')
    parser.add_argument('--workers', type=int, default=0,
                        help='processes that load images (0: the training process); the batches are the same either way')
    parser.add_argument('--crop', type=int, default=None,
                        help='train on random square windows of this many pixels, at the stills\' own scale')
    add_architecture_arguments(parser)
    parser.add_argument('--log', default=None)
    parser.add_argument('--init', default=None,
                        help='continue from this checkpoint: a state dict this script saved or a converted '
                             "model's weights.safetensors, of these widths or narrower (see load_init)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    # Every image has the same size, so cuDNN's per-shape choice of convolution algorithm pays off on a GPU.
    torch.backends.cudnn.benchmark = args.device.startswith('cuda')
    dataset = SynthDataset(args.data, args.crop)
    model = build_model(args)
    if args.crop:
        # Windows are fed at their own scale: the sizes the transform scales to are the window's (scale 1), while
        # the converted model keeps --min-size and --max-size for whole frames.
        model.transform.min_size = (args.crop,)
        model.transform.max_size = args.crop
    if args.init:
        load_init(model, args.init)
    model.to(args.device)
    model.train()
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(parameters, lr=args.lr, momentum=0.9, weight_decay=1e-4)
    log = open(args.log or args.out + '.log', 'w')

    def say(line):
        print(line, flush=True)
        log.write(line + '\n')
        log.flush()

    length = f'{args.steps} steps' if args.steps else f'{args.minutes} min'
    say(f'{len(dataset)} images, {sum(p.numel() for p in parameters):,} parameters, {args.threads} threads, '
        f'{length}, seed {args.seed}, lr {args.lr}, batch {args.batch}, on {args.device}' +
        (f', from {args.init}' if args.init else ''))
    budget = args.minutes * 60
    started = time.time()
    loader = batches(dataset, args)
    step = 0
    warmup = 100
    smoothed = None

    def progress():
        # The share of training done: by steps when they are fixed, else by the time budget (a time budget makes the
        # number of steps depend on the machine; --steps reproduces a run exactly).
        return step / args.steps if args.steps else (time.time() - started) / budget

    while progress() < 1:
        elapsed = time.time() - started
        # Linear warm-up, then cosine decay over the run.
        scale = min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress())))
        for group in optimizer.param_groups:
            group['lr'] = args.lr * max(scale, 0.02)
        images, targets = next(loader)
        losses = model(images, targets)
        loss = sum(losses.values())
        if not math.isfinite(loss.item()):
            say(f'step {step}: loss is {loss.item()}, skipping batch')
            optimizer.zero_grad()
            step += 1
            continue
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 10.0)
        optimizer.step()
        smoothed = loss.item() if smoothed is None else 0.95 * smoothed + 0.05 * loss.item()
        if step % 25 == 0:
            parts = ' '.join(f'{k.replace("loss_", "")} {v.item():.3f}' for k, v in losses.items())
            say(f'step {step:5d}  {elapsed / 60:5.1f} min  lr {optimizer.param_groups[0]["lr"]:.4f}  '
                f'loss {smoothed:.3f}  ({parts})')
        if step % 500 == 0 and step > 0:
            torch.save(frozen_state_dict(model), args.out)
        step += 1
    model.eval()
    torch.save(frozen_state_dict(model), args.out)
    say(f'done: {step} steps, {step * args.batch} images in {(time.time() - started) / 60:.1f} min -> {args.out}')


if __name__ == '__main__':
    sys.exit(main())
