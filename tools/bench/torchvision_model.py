#!/usr/bin/python3
"""torchvision's side of `npm run bench:model`: build a seeded maskrcnn_resnet50_fpn, save its state dict for dashseg
to convert, and time torchvision's own inference on the same image at the same sizes.

Usage: /usr/bin/python3 tools/bench/torchvision_model.py <checkpoint-out.pt> <image> <runs> <min_size> [<min_size> ...]
Prints one JSON object: {"blas": ..., "torch": ..., "threads": N, "ms": {"<min_size>": [run, ...]}}.
"""
import json
import os
import sys
import time

import torch
import torchvision
from torchvision.io import read_image
from torchvision.models.detection import maskrcnn_resnet50_fpn


def blas_library():
    """The BLAS torch runs on (Debian's alternatives pick it): its reference BLAS is ~4x slower than OpenBLAS here."""
    with open('/proc/self/maps') as maps:
        paths = {line.split()[-1] for line in maps if 'blas' in line.rsplit('/', 1)[-1]}
    return ', '.join(sorted(os.path.realpath(path) for path in paths)) or 'none loaded'


def main():
    checkpoint, image_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    min_sizes = [int(size) for size in sys.argv[4:]]
    torch.manual_seed(0)
    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None).eval()
    torch.save(model.state_dict(), checkpoint)
    image = read_image(image_path).float() / 255
    times = {}
    with torch.no_grad():
        for min_size in min_sizes:
            model.transform.min_size = (min_size,)
            model([image])
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                model([image])
                samples.append((time.perf_counter() - started) * 1000)
            times[str(min_size)] = samples
    print(json.dumps({'blas': blas_library(), 'torch': torch.__version__, 'torchvision': torchvision.__version__, 'threads': torch.get_num_threads(), 'ms': times}))


if __name__ == '__main__':
    main()
