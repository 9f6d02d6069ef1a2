#!/usr/bin/env bash
# Re-train the bundled default model from ../shared/data and install it into the package.
# What it does and what it measured: src/deepfake_detect/weights/MODEL_CARD.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-runs/default}
BIN=.venv/bin

# Speaker-disjoint validation: train holds out 20 % of the groups (TIMIT speakers, photos, clips).
$BIN/deepfake-detect train "$DATA/timit" "$DATA/faces" "$DATA/videos" \
    --cache runs/cache --out "$OUT" --arch resnet18_lstm --epochs 12 \
    --sbi --p-sbi 0.5 --max-minutes 40 --seed 0
$BIN/deepfake-detect evaluate "$DATA/timit" "$DATA/faces" "$DATA/videos" \
    --model "$OUT/best.safetensors" --cache runs/cache --out "$OUT/eval_val" --split val
$BIN/python -m deepfake_detect.models.bundled "$OUT/best.safetensors" \
    "ResNet18+BiLSTM (160 px) trained from scratch on ../shared/data: TIMIT real/fake + SBI pseudo-fakes"
