#!/usr/bin/env python3
"""torchvision's side of tools/gpu/check.ts: the parity fixtures' maskrcnn_resnet50_fpn rebuilt from
test/fixtures/resnet50 (hashed weights plus calibrated.npy, checked against the recipe's sha256), timed on the photo
the check decoded, at 800/1333, on the CPU and on CUDA where torch sees a GPU.

Usage: python3 tools/gpu/torchvision_times.py <decoded image without extension> <runs>
Prints one markdown line per device.
"""
import hashlib
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
from make_resnet50_fixtures import OUT, apply_recipe, build  # noqa: E402


def fixture_model():
    with open(os.path.join(OUT, 'recipe.json')) as f:
        recipe = json.load(f)
    model = build()
    apply_recipe(model, recipe['tensors'])
    calibrated = torch.from_numpy(np.load(os.path.join(OUT, 'calibrated.npy')))
    state = model.state_dict()
    used = 0
    digest = hashlib.sha256()
    with torch.no_grad():
        for entry in recipe['tensors']:
            tensor = state[entry['name']]
            if entry['init'] == 'calibrated':
                tensor.copy_(calibrated[used:used + tensor.numel()].reshape(tensor.shape))
                used += tensor.numel()
            digest.update(tensor.numpy().astype('<f4').tobytes())
    if digest.hexdigest() != recipe['stateDictSha256']:
        raise SystemExit('the rebuilt state dict is not the one the fixtures were made with')
    return model


def main():
    stem, runs = sys.argv[1], int(sys.argv[2])
    with open(stem + '.json') as f:
        size = json.load(f)
    pixels = np.fromfile(stem + '.rgb', dtype=np.uint8).reshape(size['height'], size['width'], -1)[:, :, :3]
    image = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255
    model = fixture_model()
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    for device in devices:
        model.to(device)
        on_device = image.to(device)
        samples = []
        with torch.no_grad():
            for run in range(runs + 1):
                if device == 'cuda':
                    torch.cuda.synchronize()
                started = time.perf_counter()
                detections = model([on_device])[0]
                if device == 'cuda':
                    torch.cuda.synchronize()
                if run > 0:
                    samples.append((time.perf_counter() - started) * 1000)
        name = torch.cuda.get_device_name() if device == 'cuda' else f'{torch.get_num_threads()} CPU threads'
        print(f'- torchvision {torchvision.__version__} / torch {torch.__version__} on {device} ({name}): '
              f'ResNet-50-FPN photo {statistics.median(samples):.0f} ms, {len(detections["scores"])} detections')


if __name__ == '__main__':
    main()
