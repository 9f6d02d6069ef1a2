#!/usr/bin/env bash
# The comparison runs of docs/training.md: one epoch each of the default recipe and of one change to it,
# same data, split, seed and cache, so the differences are the change's. 20-28 min per run on 2 idle cores (bf16 / fp32).
#   scripts/ablations.sh            # all runs into runs/ablation-*
#   RUNS="scratch nosbi" scripts/ablations.sh
# sbipairs: 16 pairs = 32 windows per batch, the reference's compute per step; run F of docs/training.md is
# this arm with EPOCHS=2, run G with EPOCHS=4. lowres (run H, EPOCHS=4; run I, EPOCHS=3): sbipairs with the downscale
# augmentation reaching 0.2 (a 224 px crop's face shrunk to ~34 px, MIN_FACE_SIZE). DEVICE=cuda on a GPU;
# BF16=on|off pins the precision: auto picks per machine by timing one batch (run K: bf16; run L's Xeon: fp32
# 3.42 vs bf16 3.44 s), so pin it to compare runs across machines; on a CPU without native bf16 BF16=on is
# emulated (AVX2-only EPYCs, 2026-12-06: 33 s per batch against fp32's 4.5 s on one; on another, a bare
# Lite0+BiLSTM step on 32 x 2 crops 24 s against fp32's 13-15 s, ~3.4 s on an AVX-512 Xeon, so ~1.5 h per
# epoch). P_JPEG=1.0 re-encodes every crop as JPEG after blending (run M: a lossy cache's artefacts no
# longer mark the blended region). INPUT_SIZE overrides the
# architecture's crop side (run N: 192 px, ~27 % less CNN work than Lite0's 224).
# ARCH picks another registered architecture (run Q: efficientnet_lite2_lstm at INPUT_SIZE=224).
# SEED (default 0) for replicates (run O: run M with seed 1); SPLIT_SEED keeps another seed's people split
# (run T: run M with seed 2 on M's split, so its validation figures compare with M's).
# EMA=0.998 also writes a moving average of the weights as epoch_N_ema (run P: run M with it; the raw weights
# are run M's, step for step).
# BACKBONE_LR_SCALE trains the CNN trunk at that fraction of the lr (run R: run M with 0.2). SBI_P_FREQUENCY is
# the chance of the blend's frequency transform (run S: run M with 0.5). P_SHARPEN sharpens the whole crop
# with that chance, real and SBI copy alike (run W: run M with 0.5).
# INIT starts from a checkpoint's weights with a fresh schedule, LR (default 5e-4) sets its peak (run X: M
# continued at 1e-4). mixed: genuine DFDC / DeepfakeTIMIT fakes beside SBI copies, no pairs (run Z: M
# fine-tuned with INIT).
# SAM=0.05 takes sharpness-aware steps with that rho, the SBI paper's optimiser (run AD; ~2x step time).
# FREEZE_BN=1 keeps the trunk's BatchNorm on ImageNet's statistics, never the batch's (run AE).
# LABEL_SMOOTHING=0.1 trains towards targets 0.05 / 0.95, not 0 / 1 (run AG).
# P_ERASE=0.5 paints a random rectangle of the crop grey, the same on a real and its SBI copy (run AH).
# P_DIM=0.3 darkens the crop as low light does (gamma 1-2, gain 0.5-1, sensor noise), real and SBI copy alike.
# XRAY=1 adds a Face X-ray loss: the blend's boundary drawn from the CNN's feature map (run AI;
# AK, AL, AM: XRAY=10, seeds 0, 2, 3).
# PAST_PICTURE=1 frames tight chips as served, black past the picture, not read whole (run XF).
# CACHE, CACHE_SIZE, LOADER_WORKERS, THREADS, OUT_DIR and TRAIN for an exported cache elsewhere (scripts/gpu/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
CACHE=${CACHE:-runs/cache-wide352}
RUNS=${RUNS:-"reference scratch nosbi mtcnn5"}
CACHE_SIZE=${CACHE_SIZE:-352} LOADER_WORKERS=${LOADER_WORKERS:-1} OUT_DIR=${OUT_DIR:-runs}
TRAIN=${TRAIN:-.venv/bin/deepfake-detect}  # scripts/gpu/run.sh: "timeout N python3 -m deepfake_detect.training"

common=(
    "$DATA/dfdc_faces" "$DATA/utkface" "$DATA/talking_heads" "$DATA/faces" "$DATA/timit"
    --report "$DATA/dev/frames" --report "$DATA/dev/talking_heads"
    --cache "$CACHE" --cache-frames 8 --cache-scale 1.8 --cache-size "$CACHE_SIZE" --dlib
    --arch "${ARCH:-efficientnet_lite0_lstm}" --epochs "${EPOCHS:-1}" --batch-size 32 --frames 2 --lr "${LR:-5e-4}"
    --p-sbi 0.3 --jitter 0.8 1.6
    --family-weight dfdc_faces=2 --family-weight timit=0.5 --family-weight faces=0.5
    --val-fraction 0.12 --patience 0 --loader-workers "$LOADER_WORKERS" --seed "${SEED:-0}" --device "${DEVICE:-auto}"
    ${SPLIT_SEED:+--split-seed "$SPLIT_SEED"}
    ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"} ${THREADS:+--threads "$THREADS"} ${BF16:+--bf16 "$BF16"}
    ${P_JPEG:+--p-jpeg "$P_JPEG"} ${P_SHARPEN:+--p-sharpen "$P_SHARPEN"} ${INIT:+--init "$INIT"}
    ${INPUT_SIZE:+--input-size "$INPUT_SIZE"} ${EMA:+--ema "$EMA"} ${SAM:+--sam "$SAM"} ${PAST_PICTURE:+--jitter-past-picture}
    ${FREEZE_BN:+--freeze-bn} ${LABEL_SMOOTHING:+--label-smoothing "$LABEL_SMOOTHING"}
    ${P_ERASE:+--p-erase "$P_ERASE"} ${P_DIM:+--p-dim "$P_DIM"} ${XRAY:+--xray "$XRAY"}
    ${BACKBONE_LR_SCALE:+--backbone-lr-scale "$BACKBONE_LR_SCALE"} ${SBI_P_FREQUENCY:+--sbi-p-frequency "$SBI_P_FREQUENCY"}
)
for run in $RUNS; do
    case $run in
        reference) extra=(--sbi) ;;                    # the default recipe, one epoch
        scratch) extra=(--sbi --no-pretrained) ;;      # no ImageNet weights
        nosbi) extra=(--no-sbi) ;;                     # genuine fakes only (DFDC, DeepfakeTIMIT)
        mtcnn5) extra=(--sbi --sbi-landmarks 5) ;;     # SBI masks from MTCNN's 5 points, not dlib's 68
        sbipairs) extra=(--sbi-only --sbi-pairs --batch-size 16) ;;  # the paper's recipe: real + own SBI copy
        lowres) extra=(--sbi-only --sbi-pairs --batch-size 16 --downscale 0.2 0.9) ;;  # + faces down to MIN_FACE_SIZE
        mixed) extra=(--sbi --p-sbi 0.5 --downscale 0.2 0.9) ;;  # lowres's augmentation, genuine fakes too (run Z)
        *) echo "unknown run $run" >&2; exit 2 ;;
    esac
    $TRAIN train "${common[@]}" "${extra[@]}" --out "$OUT_DIR/ablation-$run" --no-progress
done
