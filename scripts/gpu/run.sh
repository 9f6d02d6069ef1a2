#!/usr/bin/env bash
# The GPU side of scripts/gpu_bundle.sh: run from the repository root with the bundle in .gpu/, on a machine
# that has PyTorch, timm and OpenCV but no copy of the data (DESTRUCTIVE there: it writes the data folders'
# empty skeleton at the data's path on the bundling machine, .gpu/data_root, which must not hold the data).
#   bash scripts/gpu/run.sh EPOCHS MINUTES      # results (log, metrics, fp16 checkpoints) go to $OUT
#   SEEDS="0 1 2" bash scripts/gpu/run.sh 3 6     # three seeds of 3 epochs, 2 minutes each: their best epochs
set -uo pipefail
EPOCHS=${1:?epochs} MINUTES=${2:?whole minutes of training}
OUT=${OUT:-runs/gpu-out} DATA_ROOT=$(cat .gpu/data_root) ARCH=$(cat .gpu/arch 2>/dev/null || echo efficientnet_lite0_lstm)
export ARCH  # the architecture whose ImageNet weights scripts/gpu_bundle.sh packed
if [ -n "$(find "$DATA_ROOT" -type f -size +0 ! -name '*.csv' ! -name '*.json' -print -quit 2>/dev/null)" ]; then
    echo "refusing: $DATA_ROOT holds the real data, which the skeleton would overwrite: run this on the GPU machine" >&2
    exit 2
fi
mkdir -p "$OUT" runs
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
python3 - <<'PY' || exit 1
import lzma, shutil, tarfile
tarfile.open(".gpu/skeleton.tar.xz").extractall("/")  # the data folders' names, for discovery: keys match
tarfile.open(".gpu/cache.tar.gz").extractall("runs")
with lzma.open("runs/cache-gpu256/index.jsonl.xz") as f, open("runs/cache-gpu256/index.jsonl", "wb") as g:
    shutil.copyfileobj(f, g)
PY
if ls .gpu/whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD/.gpu/site:$PWD/src PYTHONUNBUFFERED=1
say "setup done in $PWD"; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nproc
python3 - <<'PY' || exit 1
import glob, os, cv2, timm, torch
from deepfake_detect.models.registry import create_model
create_model(os.environ["ARCH"], pretrained=True)
strip = glob.glob("runs/cache-gpu256/crops/*/*.webp")[0]
assert cv2.imread(strip) is not None, f"OpenCV cannot read {strip}"
print("preflight ok: torch", torch.__version__, "timm", timm.__version__, "cv2", cv2.__version__)
PY
# scripts/ablations.sh's lowres arm (runs H, I, J) on the exported cache, with 14 loader processes; every crop
# re-encoded as JPEG after blending (P_JPEG=1.0, run M): without it the lossy strips teach a cue (runs K, L).
lowres() {  # OUT_DIR MINUTES (SEED and SPLIT_SEED from the environment, as scripts/ablations.sh reads them)
    DATA=$DATA_ROOT CACHE=runs/cache-gpu256 CACHE_SIZE=256 LOADER_WORKERS=${LOADER_WORKERS:-14} THREADS=2 \
        DEVICE=${DEVICE:-cuda} OUT_DIR=$1 P_JPEG=1.0 EPOCHS=$EPOCHS MAX_MINUTES=$2 RUNS=lowres \
        TRAIN="timeout $(( $2 * 60 + ${SLACK_S:-80} )) python3 -m deepfake_detect.training" bash scripts/ablations.sh
}
if [ -z "${SEEDS:-}" ]; then
    lowres /tmp "$MINUTES" > "$OUT/train.log" 2>&1
    say "train exit $?"
    cp /tmp/ablation-lowres/metrics.jsonl /tmp/ablation-lowres/summary.json /tmp/ablation-lowres/training_curves.png "$OUT/" 2>/dev/null
    epochs=$(ls /tmp/ablation-lowres/epoch_*.safetensors 2>/dev/null | sort -V)
    n=$(echo "$epochs" | wc -l)
    python3 scripts/gpu/half.py "$OUT" /tmp/ablation-lowres/best.safetensors \
        $(echo "$epochs" | sed -n "$(( (n + 1) / 2 ))p") $(echo "$epochs" | tail -1)
else
    # SEEDS="0 1 2": one run per seed on M's people split (SPLIT_SEED, default 0), MINUTES shared out, each
    # seed's best-validation epoch returned: a lent machine returns at most 8 files, so 6 seeds at most.
    # Why seeds: on 2 CPU cores the seed moved dev/ by 0.12-0.22 within one recipe (runs M, T, V). Each
    # seed adds its own set-up and per-epoch validation to the call (not yet timed on a GPU; ~1 min on
    # this CPU's dry run): keep MINUTES + that inside the 10-minute command limit.
    n=$(wc -w <<< "$SEEDS")
    [ "$n" -le 6 ] || { echo "at most 6 seeds in one call (8 files come back)" >&2; exit 2; }
    [ $(( MINUTES / n )) -ge 1 ] || { echo "MINUTES must give each seed at least one" >&2; exit 2; }
    for seed in $SEEDS; do
        mkdir -p "/tmp/seed$seed"
        SEED=$seed SPLIT_SEED=${SPLIT_SEED:-0} lowres "/tmp/seed$seed" $(( MINUTES / n )) >> "$OUT/train.log" 2>&1
        say "seed $seed: train exit $?"
        run=/tmp/seed$seed/ablation-lowres
        [ -f "$run/metrics.jsonl" ] && sed "s/^{/{\"seed\": $seed, /" "$run/metrics.jsonl" >> "$OUT/metrics.jsonl"
        [ -f "$run/best.safetensors" ] && python3 scripts/gpu/half.py "/tmp/seed$seed" "$run/best.safetensors" \
            && mv "/tmp/seed$seed/best.fp16.safetensors" "$OUT/seed$seed.best.fp16.safetensors"
    done
fi
say "done"; ls -la "$OUT"; tail -4 "$OUT/train.log" | cut -c1-400
