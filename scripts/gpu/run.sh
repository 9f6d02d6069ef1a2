#!/usr/bin/env bash
# The GPU side of scripts/gpu_bundle.sh: run from the repository root with the bundle in .gpu/, on a machine
# that has PyTorch, timm and OpenCV but no copy of the data (DESTRUCTIVE there: it writes the data folders'
# empty skeleton at the data's path on the bundling machine, .gpu/data_root, which must not hold the data).
#   bash scripts/gpu/run.sh EPOCHS MINUTES      # results (log, metrics, fp16 checkpoints) go to $OUT
set -uo pipefail
EPOCHS=${1:?epochs} MINUTES=${2:?whole minutes of training}
OUT=${OUT:-runs/gpu-out} DATA_ROOT=$(cat .gpu/data_root)
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
import glob, cv2, timm, torch
from deepfake_detect.models.registry import create_model
create_model("efficientnet_lite0_lstm", pretrained=True)
strip = glob.glob("runs/cache-gpu256/crops/*/*.webp")[0]
assert cv2.imread(strip) is not None, f"OpenCV cannot read {strip}"
print("preflight ok: torch", torch.__version__, "timm", timm.__version__, "cv2", cv2.__version__)
PY
D=$DATA_ROOT
# scripts/ablations.sh's lowres arm (runs H, I) on the exported cache, with 14 loader processes.
timeout $(( MINUTES * 60 + 80 )) python3 -m deepfake_detect.training train \
    $D/dfdc_faces $D/utkface $D/talking_heads $D/faces $D/timit --report $D/dev/frames --report $D/dev/talking_heads \
    --cache runs/cache-gpu256 --cache-frames 8 --cache-scale 1.8 --cache-size 256 --dlib \
    --arch efficientnet_lite0_lstm --epochs "$EPOCHS" --batch-size 16 --frames 2 --lr 5e-4 \
    --p-sbi 0.3 --jitter 0.8 1.6 --family-weight dfdc_faces=2 --family-weight timit=0.5 --family-weight faces=0.5 \
    --val-fraction 0.12 --patience 0 --loader-workers 14 --threads 2 --seed 0 --device cuda \
    --max-minutes "$MINUTES" --sbi-only --sbi-pairs --downscale 0.2 0.9 --out /tmp/run --no-progress \
    > "$OUT/train.log" 2>&1
say "train exit $?"
cp /tmp/run/metrics.jsonl /tmp/run/summary.json /tmp/run/training_curves.png "$OUT/" 2>/dev/null
epochs=$(ls /tmp/run/epoch_*.safetensors 2>/dev/null | sort -V)
n=$(echo "$epochs" | wc -l)
python3 scripts/gpu/half.py "$OUT" /tmp/run/best.safetensors \
    $(echo "$epochs" | sed -n "$(( (n + 1) / 2 ))p") $(echo "$epochs" | tail -1)
say "done"; ls -la "$OUT"; tail -4 "$OUT/train.log" | cut -c1-400
