#!/usr/bin/env bash
# The GPU side of scripts/gpu_bundle.sh: run from the repository root with the bundle in .gpu/, on a machine
# that has PyTorch, timm and OpenCV but no copy of the data (DESTRUCTIVE there: it writes the data folders'
# empty skeleton at the data's path on the bundling machine, .gpu/data_root, which must not hold the data).
#   bash scripts/gpu/run.sh EPOCHS MINUTES      # results (log, metrics, fp16 checkpoints) go to $OUT
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
DATA=$DATA_ROOT CACHE=runs/cache-gpu256 CACHE_SIZE=256 LOADER_WORKERS=14 THREADS=2 DEVICE=cuda OUT_DIR=/tmp \
    P_JPEG=1.0 EPOCHS=$EPOCHS MAX_MINUTES=$MINUTES RUNS=lowres \
    TRAIN="timeout $(( MINUTES * 60 + 80 )) python3 -m deepfake_detect.training" \
    bash scripts/ablations.sh > "$OUT/train.log" 2>&1
say "train exit $?"
cp /tmp/ablation-lowres/metrics.jsonl /tmp/ablation-lowres/summary.json /tmp/ablation-lowres/training_curves.png "$OUT/" 2>/dev/null
epochs=$(ls /tmp/ablation-lowres/epoch_*.safetensors 2>/dev/null | sort -V)
n=$(echo "$epochs" | wc -l)
python3 scripts/gpu/half.py "$OUT" /tmp/ablation-lowres/best.safetensors \
    $(echo "$epochs" | sed -n "$(( (n + 1) / 2 ))p") $(echo "$epochs" | tail -1)
say "done"; ls -la "$OUT"; tail -4 "$OUT/train.log" | cut -c1-400
