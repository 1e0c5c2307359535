#!/bin/bash
# One round of training on a GPU machine that has PyTorch but no Node.js or network, inside a fixed time budget:
#   1. fresh stills from the generator (tools/train/offline_bundle.sh's archive), one process per core;
#   2. meanwhile, the starting checkpoint's detections on the dev clips (record_clip.py);
#   3. train_synth.py for whatever time is left;
#   4. the trained checkpoint's detections on the same clips, so that tools/bench/tracking-sweep.js compares the two
#      side by side, decoded and run the same way.
# Everything it keeps goes to $OUT: train.log, trained16.pt (the checkpoint as float16, half the bytes to copy back;
# train_synth.py --init and `dashseg weights convert` read it after `.float()`), records.tar.xz.
#
#   BUNDLE=bundle.tar.xz INIT=weights/dashseg-synth/weights.safetensors CLIPS="c9100.mp4 c9101.mp4" \
#     SEED=300 PROCS=16 COUNT=750 BUDGET=570 ARCH="--widths 16,32,96,192" OUT=out tools/train/gpu_round.sh
#
# BUDGET is the seconds the whole round may take (the training's share is what the other steps leave); ARCH the
# architecture options of train_synth.py; SEED the first of PROCS generator seeds (never one trained on or held out).
set -uo pipefail
export PYTHONUNBUFFERED=1
start=$(date +%s)
: "${BUNDLE:?} ${INIT:?} ${CLIPS:?} ${OUT:?}"
SEED=${SEED:-300} PROCS=${PROCS:-$(nproc)} COUNT=${COUNT:-750} BUDGET=${BUDGET:-570} ARCH=${ARCH:-}
DEVICE=${DEVICE:-cuda} WORKERS=${WORKERS:-$(($(nproc) - 2))} LR=${LR:-0.02} BATCH=${BATCH:-32}
WORK=${WORK:-/dev/shm/dashseg-round}
# What follows training (the checkpoint written, the clips recorded, the archive) takes about this long.
AFTER_TRAINING=130
here=$(cd "$(dirname "$0")" && pwd)
say() { echo "[$(($(date +%s) - start)) s] $*"; }
record() { # checkpoint, prefix, architecture options
  for clip in $CLIPS; do
    python3 "$here/record_clip.py" --checkpoint "$1" --clip "$clip" --device "$DEVICE" $3 \
      --out "$OUT/records/$2-$(basename "$clip" .mp4).jsonl" &
  done
  wait
}

mkdir -p "$WORK/bundle" "$WORK/data" "$OUT/records"
tar xJf "$BUNDLE" -C "$WORK/bundle" || { say "cannot unpack $BUNDLE"; exit 1; }
say "unpacked; $(nproc) cores; $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo no GPU)"
record "$INIT" start "$ARCH" > "$OUT/record-start.log" 2>&1 &
recording=$!
generators=()
for i in $(seq 0 $((PROCS - 1))); do
  "$WORK/bundle/node" "$WORK/bundle/bin/dashseg.js" synth stills --out "$WORK/data/s$((SEED + i))" --count "$COUNT" \
    --seed $((SEED + i)) --width 960 --height 540 --workers 1 -q &
  generators+=($!)
done
for pid in "${generators[@]}"; do wait "$pid" || { say "a generator failed"; exit 1; }; done
minutes=$(python3 -c "import time; print(round(max(0.5, ($start + $BUDGET - $AFTER_TRAINING - time.time()) / 60), 2))")
say "$((PROCS * COUNT)) stills of seeds $SEED-$((SEED + PROCS - 1)); training for $minutes min"
python3 "$here/train_synth.py" --data "$WORK"/data/s* --out "$WORK/trained.pt" --log "$OUT/train.log" --minutes "$minutes" \
  --lr "$LR" --batch "$BATCH" --seed "$SEED" --init "$INIT" --device "$DEVICE" --workers "$WORKERS" $ARCH | tail -n 2
python3 -c "import torch; state = torch.load('$WORK/trained.pt'); torch.save({k: v.half() for k, v in state.items()}, '$OUT/trained16.pt')" \
  || { say "training left no checkpoint"; exit 1; }
wait "$recording" || say "recording the starting checkpoint failed: see record-start.log"
record "$WORK/trained.pt" trained "$ARCH" > "$OUT/record-trained.log" 2>&1
tar cf - -C "$OUT" records | xz -T0 -3 > "$OUT/records.tar.xz" && rm -rf "$OUT/records"
say "done"
