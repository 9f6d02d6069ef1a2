#!/usr/bin/env bash
# Re-train the bundled default model from ../shared/data and install it into the package.
# What it does and what it measured: src/deepfake_detect/weights/MODEL_CARD.md, docs/training.md.
#   OUT=runs/x INSTALL=0 scripts/train_default_model.sh    # train + evaluate only, package untouched
#   EPOCHS=16 MAX_MINUTES=600 ...                          # the budget (CPU: ~20 min per epoch on 2 idle cores, bf16)
#   DEVICE=cuda ...                                        # on a GPU
#   INIT=runs/default/epoch_1.safetensors LR=2e-4 P_SBI=0.5 EPOCHS=3 OUT=runs/finetune ...
#                                                          # fine-tune a finished model (the shipped one: MODEL_CARD.md)
# Interrupted? `deepfake-detect train --resume "$OUT"` continues from the last finished epoch.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-runs/default}
CACHE=${CACHE:-runs/cache-wide352}
EPOCHS=${EPOCHS:-5}
MAX_MINUTES=${MAX_MINUTES:-100}
SHIP=${SHIP:-epoch_1}  # the checkpoint bundled: epoch_1 shipped (MODEL_CARD.md, "Choice of epoch"); or best
DEVICE=${DEVICE:-auto}
LR=${LR:-5e-4}
P_SBI=${P_SBI:-0.3}
INIT=${INIT:-}  # a checkpoint to start from (train --init): weights only, new schedule
INSTALL=${INSTALL:-1}
BIN=.venv/bin

# Training data: every real face we have is a Self-Blended source (DFDC reals, UTKFace, talking heads,
# photos, VidTIMIT); DFDC and DeepfakeTIMIT fakes are genuine fakes. Families are balanced so that none
# is a shortcut (samples.py). Validation: 12 % of the PEOPLE (identity clusters of dlib descriptors) of
# every family. dev/ (other datasets and generators) is scored every epoch for the log, never trained on.
# videos/real is kept out entirely: both clips are an unseen-real-video check.
$BIN/deepfake-detect train "$DATA/dfdc_faces" "$DATA/utkface" "$DATA/talking_heads" "$DATA/faces" "$DATA/timit" \
    --report "$DATA/dev/frames" --report "$DATA/dev/talking_heads" \
    --cache "$CACHE" --cache-frames 8 --cache-scale 1.8 --cache-size 352 --dlib --out "$OUT" \
    --arch efficientnet_lite0_lstm --epochs "$EPOCHS" --batch-size 32 --frames 2 --lr "$LR" \
    --sbi --p-sbi "$P_SBI" --jitter 0.8 1.6 ${INIT:+--init "$INIT"} \
    --family-weight dfdc_faces=2 --family-weight timit=0.5 --family-weight faces=0.5 \
    --val-fraction 0.12 --patience 0 --loader-workers 1 --max-minutes "$MAX_MINUTES" --device "$DEVICE" --seed 0

# The figures in the model card: validation split, SBI copies of unseen people, the cross-dataset dev set.
$BIN/deepfake-detect evaluate "$DATA/dfdc_faces" "$DATA/utkface" "$DATA/talking_heads" "$DATA/faces" "$DATA/timit" \
    --model "$OUT/$SHIP.safetensors" --out "$OUT/eval_val" --split val --sbi-copies
$BIN/deepfake-detect evaluate "$DATA/dev/frames" "$DATA/dev/talking_heads" \
    --model "$OUT/$SHIP.safetensors" --out "$OUT/eval_dev" --methods "$DATA/sources_round2.csv"
if [ "$INSTALL" = 1 ]; then
    $BIN/python -m deepfake_detect.inference.bundled "$OUT/$SHIP.safetensors" \
        "EfficientNet-Lite0+BiLSTM (224 px), ImageNet-initialised, trained on ../shared/data: SBI from all real faces + DFDC/DeepfakeTIMIT fakes; read MODEL_CARD.md" \
        "Temperature and threshold are fitted on a person-disjoint validation split of the training families; they do not transfer across datasets (see MODEL_CARD.md): read fake_probability as a ranking score on footage unlike the training data."
fi
