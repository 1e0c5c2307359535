#!/usr/bin/python3
"""What torchvision makes of the sample stills with the bundled model (weights/dashseg-synth), for the parity test.

The bundled weights are stored as float16, so torchvision runs on the same values: the checkpoint rounded to float16
and back. The checkpoint's sha256 is recorded beside the outputs; the test checks it against the one
`dashseg weights convert` wrote into weights/dashseg-synth/model.json, so the fixtures cannot silently belong to
other weights.

Usage: /usr/bin/python3 tools/parity/make_synth_model_fixtures.py /tmp/dashseg-synth.pt
Writes test/fixtures/synth-model/: checkpoint.json, still{i}_{boxes,scores,labels,masks_packed}.npy
"""
import argparse
import hashlib
import json
import os
import sys

import torch
from torchvision.io import read_image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
sys.path.insert(0, os.path.join(ROOT, 'tools', 'train'))
from train_synth import add_architecture_arguments, build_model  # noqa: E402
from make_maskrcnn_fixtures import save_detections  # noqa: E402

OUT = os.path.join(ROOT, 'test', 'fixtures', 'synth-model')
KEEP_SCORE = 0.2
STILLS = [os.path.join(ROOT, 'samples', 'stills', 'images', f'{i:06d}.png') for i in range(2)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('checkpoint')
    add_architecture_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    with open(args.checkpoint, 'rb') as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    state = torch.load(args.checkpoint, map_location='cpu')
    model = build_model(args)
    missing, unexpected = model.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in state.items()}, strict=False)
    assert not unexpected and all(k.endswith('num_batches_tracked') for k in missing), (missing, unexpected)
    model.eval()
    os.makedirs(OUT, exist_ok=True)
    with torch.no_grad():
        for index, path in enumerate(STILLS):
            image = read_image(path)[:3].float() / 255
            output = model([image])[0]
            # The test compares detections scoring >= 0.3; keeping those above 0.2 leaves room for score differences
            # at the cut without committing 100 full-image masks per still.
            keep = output['scores'] >= KEEP_SCORE
            output = {name: value[keep] for name, value in output.items()}
            save_detections(f'still{index}', output, OUT)
            print(f'{os.path.basename(path)}: {len(output["scores"])} detections >= {KEEP_SCORE}, {int((output["scores"] >= 0.5).sum())} >= 0.5')
    with open(os.path.join(OUT, 'checkpoint.json'), 'w') as f:
        json.dump({'sha256': sha256, 'torch': torch.__version__, 'stills': [os.path.relpath(p, ROOT) for p in STILLS]}, f, indent=2)


if __name__ == '__main__':
    main()
