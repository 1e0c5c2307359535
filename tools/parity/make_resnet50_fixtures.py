#!/usr/bin/python3
"""Parity fixtures for the full-size `maskrcnn_resnet50_fpn` (91 classes, min/max size 800/1333) without its weights.

The real checkpoint is 170 MB and cannot be committed, and random torch weights cannot be reproduced outside torch.
So every convolution and linear weight comes from a counter-based hash that test/support/deterministic-weights.ts
implements bit for bit in TypeScript:

    key(name)   = FNV-1a 32 of the tensor's state-dict name (UTF-8), XOR SEED
    bits(i)     = fmix32(fmix32(i) XOR key)               (murmur3's finalizer, all arithmetic mod 2^32)
    unit(i)     = ((bits(i) >> 8) - 2^23) * 2^-23         a float32 in [-1, 1), exact (24 significant bits)
    value(i)    = f32(f32(unit(i) * scale) + offset)      scale and offset are float32; each step one f32 rounding

`scale` is He-uniform (sqrt(6 / fan_in)) times a per-head factor chosen here so that detections are decisive but not
saturated; scales and offsets are written to recipe.json, so TypeScript reads them rather than re-deriving them.
FrozenBN gamma is 1 + 0.25 u (0.15 + 0.05 u for each bottleneck's bn3, see BN3_GAMMA), beta 0.1 u.

The frozen batch norms' running statistics cannot be hashed: with arbitrary statistics activations explode or vanish
over 53 layers. They are calibrated here instead, one layer after the other in a single forward pass (a pre-hook on
each FrozenBatchNorm2d sets its mean and variance from the batch statistics of its input before it runs, and every
later layer sees the calibrated output), on the two parity images. The class logits are calibrated too (see
CLASS_LOGIT_STD). Only those statistics and cls_score.bias are committed (calibrated.npy, ~200 kB); everything else,
BN gamma and beta included, is hashed.

Like torchvision's COCO v1 release (`overwrite_eps(model, 0.0)`), the frozen batch norms run with eps = 0.

Images:
  photo      ../shared/data/udacity-lanelines/solidWhiteRight.jpg (960x540), decoded the way dashseg decodes images
             (@napi-rs/canvas loadImage -> getImageData, see pipelines/detect.ts). Skia's JPEG decoder differs from
             libjpeg's (PIL, torchvision.io) by up to 11 levels on ~1.5 M of the 1.56 M values, so this script does not
             decode the JPEG itself: it asks node to, and records the sha256 of the RGB bytes, which the test checks
             before comparing anything.
  synthetic  480x640, computed from integers only (gradients, shapes, hashed noise), also in deterministic-weights.ts.

Run with Debian's python3 (torch 1.13, torchvision 0.14) from anywhere, with node and the repo's node_modules
(~20 s on two cores); the output is deterministic:
    /usr/bin/python3 tools/parity/make_resnet50_fixtures.py

Writes test/fixtures/resnet50/:
    recipe.json                 seed, per-tensor shape/init/scale/offset, sha256 of the generated state dict, the
                                images' sha256, eps
    calibrated.npy              float32 [K]: the tensors whose init is 'calibrated' (every running_mean and running_var,
                                roi_heads.box_predictor.cls_score.bias), flattened and concatenated in recipe order
    {image}_boxes.npy           torchvision's detections: boxes [D, 4] f32, scores [D] f32, labels [D] i64
    {image}_scores.npy, {image}_labels.npy
    {image}_mask_bounds.npy     int32 [M, 4] x0, y0, x1, y1 (exclusive) of each mask's nonzero pixels, for the first M
                                detections (those with score >= MASK_SCORE)
    {image}_masks_packed.npy    those crops (probability >= 0.5), row-major, concatenated, numpy.packbits'ed
    {image}_debug.json          intermediate values for debugging: sizes, proposal count and first proposals, per-FPN-
                                level mean and std, the box head's class logits' spread
"""
import hashlib
import json
import math
import os
import subprocess

import numpy as np
import torch
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.resnet import resnet50
from torchvision.ops.misc import FrozenBatchNorm2d

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'resnet50')
PHOTO = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data', 'udacity-lanelines', 'solidWhiteRight.jpg'))

SEED = 0x2026DA5C
EPS = 0.0
SYNTHETIC_SIZE = (480, 640)  # height, width
MASK_SCORE = 0.3
M32 = 0xFFFFFFFF

# Head factors on top of He-uniform. Unscaled, the RPN's objectness saturates (sigmoid = 1.0 in float32: exact ties
# that NMS then orders arbitrarily) and its regression turns anchors into slivers; the box regression likewise. Their
# biases are zeroed so that boxes stay near their anchors and proposals (and are not all shifted alike).
FACTORS = {
    'rpn.head.cls_logits.weight': 0.2,
    'rpn.head.cls_logits.bias': 0.2,
    'rpn.head.bbox_pred.weight': 0.01,
    'rpn.head.bbox_pred.bias': 0.0,
    'roi_heads.box_predictor.bbox_pred.weight': 0.015,
    'roi_heads.box_predictor.bbox_pred.bias': 0.0,
}
# gamma of each bottleneck's last BN, in [0.1, 0.2): residual branches small next to the identity, as in trained ResNets
# (cf. zero-init-residual). With unit gammas this random network amplifies input perturbations ~190x by C5 (measured
# in float64), float32 rounding and the 1e-4 bilinear-resize differences included, which moves proposals across the
# RPN's top-k and NMS margins; at ~0.15 the gain is ~8 and FPN features agree to ~1e-5 relative.
BN3_GAMMA, BN3_GAMMA_SPREAD = 0.15, 0.05
# Biases other than those: He-uniform scale (of their weight's fan-in) times this.
DEFAULT_BIAS_FACTOR = 0.1
# The box head's features after ReLU share a large positive component, so raw class logits favour the same class for
# every proposal with probability 1. cls_score is calibrated instead: its weight is scaled so that each class logit
# varies with std CLASS_LOGIT_STD across the parity images' proposals, and its bias (committed) centres every class
# logit on 0 over those proposals, plus BACKGROUND_LOGIT for class 0 so that most proposals are background and a few
# dozen are confident detections. A large spread makes scores decisive, so that few detections sit between 0.05 and
# 0.3: torchvision runs the mask head on every detection above 0.05, and that is most of the test's time on wasm.
CLASS_LOGIT_STD = 12.0
BACKGROUND_LOGIT = 49.0


def fnv1a32(name):
    h = 0x811C9DC5
    for byte in name.encode('utf-8'):
        h = ((h ^ byte) * 0x01000193) & M32
    return h


def fmix32(h):
    """murmur3's 32-bit finalizer on a uint64 array holding uint32 values."""
    h = h ^ (h >> np.uint64(16))
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    h = h ^ (h >> np.uint64(13))
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    return h ^ (h >> np.uint64(16))


def unit_values(name, count):
    """float32 [count] in [-1, 1), the hash of (name, index)."""
    key = np.uint64(fnv1a32(name) ^ SEED)
    bits = fmix32(fmix32(np.arange(count, dtype=np.uint64)) ^ key)
    return ((bits >> np.uint64(8)).astype(np.int64) - (1 << 23)).astype(np.float32) * np.float32(2.0 ** -23)


def hashed(name, shape, scale, offset=0.0):
    values = unit_values(name, int(np.prod(shape, dtype=np.int64))) * np.float32(scale)
    if offset != 0.0:
        values = values + np.float32(offset)
    return values.reshape(shape)


def build():
    backbone = resnet50(weights=None, norm_layer=FrozenBatchNorm2d)
    # maskrcnn_resnet50_fpn with weights: FrozenBatchNorm2d body, 3 trainable layers (irrelevant at inference).
    model = MaskRCNN(_resnet_fpn_extractor(backbone, 3), num_classes=91)
    for module in model.modules():
        if isinstance(module, FrozenBatchNorm2d):
            module.eps = EPS
    return model.eval()


def fan_in(module, shape):
    # Conv [out, in, kh, kw] and Linear [out, in]: in * kh * kw. ConvTranspose2d is [in, out, kh, kw]; in * kh * kw
    # overcounts a stride-2 2x2 kernel's fan-in by 4, which is fine for a scale.
    if isinstance(module, torch.nn.ConvTranspose2d):
        return shape[0] * shape[2] * shape[3]
    return int(np.prod(shape[1:]))


def make_recipe(model):
    """Per state-dict key: how to make it. Biases use the fan-in of their weight."""
    state = model.state_dict()
    recipe = []
    for name, tensor in state.items():
        shape = list(tensor.shape)
        module_name, field = name.rsplit('.', 1)
        module = model.get_submodule(module_name)
        entry = {'name': name, 'shape': shape}
        if isinstance(module, FrozenBatchNorm2d):
            if field == 'weight' and module_name.endswith('.bn3'):
                entry.update(init='hash', scale=BN3_GAMMA_SPREAD, offset=BN3_GAMMA)
            elif field == 'weight':
                entry.update(init='hash', scale=0.25, offset=1.0)
            elif field == 'bias':
                entry.update(init='hash', scale=0.1, offset=0.0)
            else:
                entry.update(init='calibrated')
        elif name == 'roi_heads.box_predictor.cls_score.bias':
            entry.update(init='calibrated')
        elif field in ('weight', 'bias'):
            fan = fan_in(module, list(state[f'{module_name}.weight'].shape))
            factor = FACTORS.get(name, 1.0 if field == 'weight' else DEFAULT_BIAS_FACTOR)
            entry.update(init='hash', scale=math.sqrt(6.0 / fan) * factor, offset=0.0)
        else:
            raise ValueError(f'unexpected tensor {name}')
        if entry['init'] == 'hash':
            # Exactly the float32 values both sides multiply and add with.
            entry['scale'] = float(np.float32(entry['scale']))
            entry['offset'] = float(np.float32(entry['offset']))
        recipe.append(entry)
    return recipe


def apply_recipe(model, recipe):
    state = model.state_dict()
    with torch.no_grad():
        for entry in recipe:
            if entry['init'] == 'hash':
                state[entry['name']].copy_(torch.from_numpy(hashed(entry['name'], entry['shape'], entry['scale'], entry['offset'])))


# --- the synthetic image (mirrored in test/support/deterministic-weights.ts) ---------------------------------------
IMAGE_KEY = 0x1A2B3C4D
# (x0, y0, x1, y1, r, g, b): filled rectangles, drawn in order.
RECTANGLES = [
    (0, 300, 640, 480, 96, 96, 104),      # road
    (60, 250, 250, 380, 180, 30, 40),     # a red car body
    (90, 210, 220, 260, 150, 20, 30),     # its roof
    (380, 270, 600, 420, 30, 60, 170),    # a blue van
    (300, 330, 330, 470, 240, 240, 240),  # lane mark
    (500, 120, 520, 300, 70, 70, 70),     # a pole
]
# (cx, cy, radius, r, g, b): filled discs, drawn after the rectangles.
DISCS = [
    (100, 385, 28, 20, 20, 20),
    (215, 385, 28, 20, 20, 20),
    (420, 425, 30, 15, 15, 15),
    (560, 425, 30, 15, 15, 15),
    (300, 120, 60, 250, 220, 90),         # a sun
]


def synthetic_image(height, width):
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    image = np.stack([
        40 + (x * 160) // (width - 1),
        80 + (y * 120) // (height - 1),
        200 - ((x + y) * 100) // (width + height - 2),
    ], axis=-1)
    for x0, y0, x1, y1, r, g, b in RECTANGLES:
        inside = (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
        image[inside] = (r, g, b)
    for cx, cy, radius, r, g, b in DISCS:
        inside = (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius
        image[inside] = (r, g, b)
    bits = fmix32((y * width + x).astype(np.uint64) ^ np.uint64(IMAGE_KEY)).astype(np.int64)
    noise = np.stack([(bits >> 0) & 7, (bits >> 8) & 7, (bits >> 16) & 7], axis=-1) - 4
    return np.clip(image + noise, 0, 255).astype(np.uint8)


DECODE_JS = r"""
const { loadImage, createCanvas } = require('@napi-rs/canvas');
(async () => {
  const image = await loadImage(process.argv[1]);
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, 0, image.width, image.height);
  process.stdout.write(JSON.stringify([image.height, image.width]) + '\n');
  process.stdout.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
})();
"""


def decode_like_dashseg(path):
    """RGB uint8 [H, W, 3] exactly as dashseg sees the file: decoded by node with @napi-rs/canvas."""
    out = subprocess.run(['node', '-e', DECODE_JS, path], cwd=ROOT, check=True, capture_output=True).stdout
    header, _, data = out.partition(b'\n')
    height, width = json.loads(header)
    rgba = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 4)
    assert (rgba[..., 3] == 255).all()
    return np.ascontiguousarray(rgba[..., :3])


def sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def calibrate(model, images):
    """Set every frozen BN's statistics from its input, in execution order, in one pass over `images`."""
    tensors = [torch.from_numpy(image).permute(2, 0, 1).float() / 255 for image in images]
    transformed = [model.transform(tensors[i:i + 1])[0] for i in range(len(tensors))]
    # One batch of the images' common unpadded top-left region, so that no padding enters the statistics.
    height = min(t.image_sizes[0][0] for t in transformed)
    width = min(t.image_sizes[0][1] for t in transformed)
    batch = torch.cat([t.tensors[:, :, :height, :width] for t in transformed])

    def hook(module, inputs):
        x = inputs[0].double()
        module.running_mean.copy_(x.mean(dim=(0, 2, 3)).float())
        module.running_var.copy_(x.var(dim=(0, 2, 3), unbiased=False).clamp(min=1e-6).float())

    handles = [m.register_forward_pre_hook(hook) for m in model.backbone.body.modules() if isinstance(m, FrozenBatchNorm2d)]
    with torch.no_grad():
        model.backbone.body(batch)
    for handle in handles:
        handle.remove()


def calibrate_classes(model, recipe, images):
    """Rescale cls_score.weight and set cls_score.bias from the box head's features of the images' proposals."""
    features = []
    with torch.no_grad():
        for image in images:
            transformed, _ = model.transform([torch.from_numpy(image).permute(2, 0, 1).float() / 255])
            fpn = model.backbone(transformed.tensors)
            proposals, _ = model.rpn(transformed, fpn)
            heads = model.roi_heads
            features.append(heads.box_head(heads.box_roi_pool(fpn, proposals, transformed.image_sizes)))
    features = torch.cat(features).double()
    weight_entry = next(e for e in recipe if e['name'] == 'roi_heads.box_predictor.cls_score.weight')
    state = model.state_dict()
    logits = features @ state['roi_heads.box_predictor.cls_score.weight'].double().t()
    factor = CLASS_LOGIT_STD / logits.std(0).mean().item()
    weight_entry['scale'] = float(np.float32(weight_entry['scale'] * factor))
    bias = -logits.mean(0) * factor
    bias[0] += BACKGROUND_LOGIT
    with torch.no_grad():
        state['roi_heads.box_predictor.cls_score.weight'].copy_(
            torch.from_numpy(hashed(weight_entry['name'], weight_entry['shape'], weight_entry['scale'])))
        state['roi_heads.box_predictor.cls_score.bias'].copy_(bias.float())


def bounds(mask):
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return [0, 0, 0, 0]
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]


def run(model, name, image):
    captured = {}
    hooks = [
        model.backbone.register_forward_hook(lambda m, i, o: captured.__setitem__('fpn', o)),
        model.rpn.register_forward_hook(lambda m, i, o: captured.__setitem__('proposals', o[0][0])),
        model.transform.register_forward_hook(lambda m, i, o: captured.__setitem__('transform', o[0])),
        model.roi_heads.box_predictor.register_forward_hook(lambda m, i, o: captured.__setitem__('logits', o[0])),
    ]
    with torch.no_grad():
        output = model([torch.from_numpy(image).permute(2, 0, 1).float() / 255])[0]
    for hook in hooks:
        hook.remove()
    boxes, scores, labels = output['boxes'].numpy(), output['scores'].numpy(), output['labels'].numpy()
    save(f'{name}_boxes.npy', boxes)
    save(f'{name}_scores.npy', scores)
    save(f'{name}_labels.npy', labels)
    masks = (output['masks'][:, 0] >= 0.5).numpy()
    kept = int((scores >= MASK_SCORE).sum())  # scores are sorted, best first
    mask_bounds = [bounds(masks[d]) for d in range(kept)]
    bits = np.concatenate([masks[d, y0:y1, x0:x1].ravel() for d, (x0, y0, x1, y1) in enumerate(mask_bounds)] + [np.zeros(0, bool)])
    save(f'{name}_mask_bounds.npy', np.array(mask_bounds, dtype=np.int32).reshape(-1, 4))
    save(f'{name}_masks_packed.npy', np.packbits(bits))

    transform = captured['transform']
    proposals = captured['proposals'].numpy()
    logits = captured['logits']
    debug = {
        'image_size': list(transform.image_sizes[0]),
        'padded_size': list(transform.tensors.shape[-2:]),
        'fpn': {level: {'shape': list(f.shape), 'mean': float(f.double().mean()), 'std': float(f.double().std())}
                for level, f in captured['fpn'].items()},
        'proposals': len(proposals),
        'first_proposals': proposals[:5].tolist(),
        'class_logit_std': float(logits.std()),
        'background_probability_mean': float(torch.softmax(logits, 1)[:, 0].mean()),
        'detections': len(scores),
        'confident': kept,
    }
    with open(os.path.join(OUT, f'{name}_debug.json'), 'w') as f:
        json.dump(debug, f, indent=1)
        f.write('\n')
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    print(f'{name} {image.shape}: {len(scores)} detections, {kept} >= {MASK_SCORE}; scores {np.round(scores[:12], 3)}')
    print(f'  labels {labels[:kept]}; box w {np.round(np.percentile(widths, [0, 50, 100]), 1)} h {np.round(np.percentile(heights, [0, 50, 100]), 1)}')
    print(f'  mask pixels {[int(masks[d].sum()) for d in range(kept)]}')
    print(f'  {json.dumps({k: v for k, v in debug.items() if k != "first_proposals"})}')
    gaps = np.diff(np.sort(scores[scores >= 0.2]))
    print(f'  smallest gap between scores >= 0.2: {gaps.min() if len(gaps) else None}')


def save(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array))


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(OUT, exist_ok=True)
    photo = decode_like_dashseg(PHOTO)
    synthetic = synthetic_image(*SYNTHETIC_SIZE)

    model = build()
    with open(os.path.join(ROOT, 'test', 'fixtures', 'architecture', 'maskrcnn_resnet50_fpn.json')) as f:
        expected = {k: v for k, v in json.load(f).items() if not k.endswith('.num_batches_tracked')}
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == expected, 'not maskrcnn_resnet50_fpn'
    recipe = make_recipe(model)
    apply_recipe(model, recipe)
    calibrate(model, [photo, synthetic])
    calibrate_classes(model, recipe, [photo, synthetic])

    state = model.state_dict()
    calibrated = np.concatenate([state[e['name']].numpy().ravel() for e in recipe if e['init'] == 'calibrated'])
    save('calibrated.npy', calibrated.astype(np.float32))
    digest = hashlib.sha256()
    for entry in recipe:
        digest.update(state[entry['name']].numpy().astype('<f4').tobytes())
    with open(os.path.join(OUT, 'recipe.json'), 'w') as f:
        json.dump({
            'generator': 'fmix32(fmix32(i) ^ fnv1a32(name) ^ seed); see tools/parity/make_resnet50_fixtures.py',
            'seed': SEED,
            'eps': EPS,
            'stateDictSha256': digest.hexdigest(),
            'images': {
                'photo': {'file': 'solidWhiteRight.jpg', 'height': photo.shape[0], 'width': photo.shape[1], 'rgbSha256': sha256(photo)},
                'synthetic': {'height': synthetic.shape[0], 'width': synthetic.shape[1], 'rgbSha256': sha256(synthetic)},
            },
            'tensors': recipe,
        }, f, indent=None, separators=(',', ':'))
        f.write('\n')

    run(model, 'photo', photo)
    run(model, 'synthetic', synthetic)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'wrote {total / 1e3:.0f} kB to {OUT}')


if __name__ == '__main__':
    main()
