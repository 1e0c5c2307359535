#!/usr/bin/python3
"""Record a training checkpoint's detections on a clip with torch, as dashseg frame lines, for tracking-sweep.

Choosing between checkpoints means scoring each one's tracking on the dev clips. `dashseg annotate --score 0.05`
does that with the product itself, but on a 2-core machine it takes about 7 minutes a clip; a GPU training machine
has no Node.js set up and too little time to spare. This script runs the same torchvision model on the same frames
there, in seconds, and writes what `annotate --json` would write with `{"tracker": {"minHits": 1, "maxAge": 0}}`
(every detection as it is): tools/bench/tracking-sweep.ts and miss-breakdown.ts read it like an annotate recording.

Two differences from annotate: frames are decoded by OpenCV rather than by dashseg's ffmpeg (the chroma upsampling
can differ in the last bit), and the weights are the checkpoint's float32 rather than the converted float16. Both
are small against the differences between checkpoints, and they are the same for every checkpoint recorded here;
use this to compare checkpoints side by side, and dashseg itself for the figures a model is published with.

    python3 tools/train/record_clip.py --checkpoint ckpt.pt --clip c9100.mp4 --out raw9100.jsonl [--score 0.3] \
        [architecture options as given to train_synth.py] [--device cuda]
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_synth import NUM_CLASSES, add_architecture_arguments, build_model, load_init  # noqa: E402

# A converted model's labels are in the model.json beside its weights. A checkpoint train_synth.py saved has none,
# but every such checkpoint has torchvision's 91 COCO slots, as the bundled model, whose model.json names them.
BUNDLED_MODEL_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'weights', 'dashseg-synth',
                                  'model.json')


def class_labels(checkpoint):
    """The name of every class slot of the checkpoint's model."""
    beside = os.path.join(os.path.dirname(os.path.abspath(checkpoint)), 'model.json')
    path = beside if checkpoint.endswith('.safetensors') and os.path.exists(beside) else BUNDLED_MODEL_JSON
    with open(path) as f:
        return json.load(f)['labels']


def rle_string(boundaries, length, first):
    """COCO's compressed RLE string (pycocotools' rleToString) of a column-major mask, given where its value
    changes (indices into the flattened mask), its length and its first value."""
    bounds = np.concatenate([[0], boundaries, [length]])
    runs = np.diff(bounds).tolist()
    if first:
        runs.insert(0, 0)
    chars = []
    for i, run in enumerate(runs):
        x = run - runs[i - 2] if i > 2 else run
        more = True
        while more:
            c = x & 0x1f
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            chars.append(chr((c | (0x20 if more else 0)) + 48))
    return ''.join(chars)


def frame_line(source, index, pts, width, height, output, min_score, class_names):
    keep = output['scores'] >= min_score
    scores = output['scores'][keep]
    order = torch.argsort(scores, descending=True, stable=True)
    boxes = output['boxes'][keep][order]
    labels = output['labels'][keep][order]
    scores = scores[order]
    # Column-major, as COCO's RLE runs go; the changes are found on the device, only their positions come back.
    masks = (output['masks'][keep][order][:, 0] > 0.5).transpose(1, 2).reshape(len(order), -1)
    changes = (masks[:, 1:] != masks[:, :-1]).nonzero().cpu().numpy()
    firsts = masks[:, 0].cpu().numpy()
    instances = []
    for k in range(len(order)):
        boundaries = changes[changes[:, 0] == k, 1] + 1
        class_id = int(labels[k])
        instances.append({
            'id': k + 1, 'classId': class_id, 'label': class_names[class_id], 'score': float(scores[k]),
            'box': [float(v) for v in boxes[k]],
            'mask': {'size': [height, width], 'counts': rle_string(boundaries, height * width, bool(firsts[k]))},
        })
    return json.dumps({'schemaVersion': 1, 'source': source, 'frame': index, 'pts': pts, 'width': width,
                       'height': height, 'inferred': True, 'instances': instances}, separators=(',', ':'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--checkpoint', required=True, help='a state dict train_synth.py saved, or a weights.safetensors')
    parser.add_argument('--clip', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--score', type=float, default=0.3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch', type=int, default=8)
    add_architecture_arguments(parser)
    args = parser.parse_args()

    model = build_model(args)
    load_init(model, args.checkpoint)
    class_names = class_labels(args.checkpoint)
    assert len(class_names) == NUM_CLASSES, f'{len(class_names)} labels for {NUM_CLASSES} class slots'
    model.to(args.device).eval()
    capture = cv2.VideoCapture(args.clip)
    if not capture.isOpened():
        sys.exit(f'record_clip: cannot open {args.clip}')
    fps = capture.get(cv2.CAP_PROP_FPS)
    with open(args.out + '.part', 'w') as out, torch.inference_mode():
        index = 0
        while True:
            frames = []
            for _ in range(args.batch):
                ok, bgr = capture.read()
                if not ok:
                    break
                frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
            if not frames:
                break
            images = [torch.from_numpy(rgb).to(args.device).permute(2, 0, 1).float() / 255 for rgb in frames]
            for rgb, output in zip(frames, model(images)):
                height, width = rgb.shape[:2]
                line = frame_line(args.clip, index, round(index / fps, 6), width, height, output, args.score,
                                  class_names)
                out.write(line + '\n')
                index += 1
    os.replace(args.out + '.part', args.out)
    print(f'{args.clip}: {index} frames -> {args.out}')


if __name__ == '__main__':
    main()
