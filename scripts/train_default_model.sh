#!/usr/bin/env bash
# Re-train the bundled default model from ../shared/data and install it into the package.
# What it does and what it measured: src/deepfake_detect/weights/MODEL_CARD.md.
#   OUT=runs/x INSTALL=0 scripts/train_default_model.sh    # train + evaluate only, package untouched
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-runs/default}
CACHE=${CACHE:-runs/cache}
INSTALL=${INSTALL:-1}
BIN=.venv/bin

# Validation: 20 % of the groups by hash (4 TIMIT speakers with their fakes, ~40 photos) plus the real
# 1080p video, held out so that one unseen real video is scored.
$BIN/deepfake-detect train "$DATA/timit" "$DATA/videos" "$DATA/faces" \
    --cache "$CACHE" --out "$OUT" --arch resnet18_lstm --epochs 5 \
    --sbi --p-sbi 0.3 --val-match '*/facenet_pytorch_video_1080p.mp4' --max-minutes 40 --seed 0
$BIN/deepfake-detect evaluate "$DATA/timit" "$DATA/videos" "$DATA/faces" \
    --model "$OUT/best.safetensors" --cache "$CACHE" --out "$OUT/eval_val" --split val
if [ "$INSTALL" = 1 ]; then
    $BIN/python -m deepfake_detect.inference.bundled "$OUT/best.safetensors" \
        "ResNet18+BiLSTM (160 px) trained from scratch on ../shared/data: TIMIT real/fake, real photos and video, SBI pseudo-fakes; speaker-disjoint val"
fi
