"""Images per second of the CNN on each runtime backend (the table in docs/performance.md).

    .venv/bin/python benchmarks/cnn_backends.py                       # resnet50_lstm, 224 px, batch 16
    .venv/bin/python benchmarks/cnn_backends.py --arch resnet18_lstm --size 160 --threads 1,2

Random weights (speed does not depend on them); derived ONNX files go to a temporary cache. Medians of
`--reps` timed batches after one warm-up batch. On a shared machine run it twice and compare.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deepfake_detect.inference.runtime import BACKENDS, TrackClassifier
from deepfake_detect.models import create_model, load_checkpoint, save_checkpoint


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="resnet50_lstm")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", default="1,2", help="intra-op thread counts to try")
    p.add_argument("--backends", default=",".join(BACKENDS))
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        model, config = create_model(args.arch, input_size=args.size)
        ckpt = save_checkpoint(model, config, Path(tmp) / "m.safetensors")
        crops = np.random.default_rng(0).integers(0, 256, (args.batch, args.size, args.size, 3), np.uint8)
        print(f"{args.arch} at {args.size} px, batch {args.batch}; images per second (median of {args.reps})")
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            for backend in args.backends.split(","):
                loaded = load_checkpoint(ckpt)
                clf = TrackClassifier(loaded, args.batch, runtime=backend, threads=threads, cache_dir=tmp)
                clf.features(crops)  # warm-up
                times = []
                for _ in range(args.reps):
                    t0 = time.perf_counter()
                    clf.features(crops)
                    times.append(time.perf_counter() - t0)
                rate = args.batch / statistics.median(times)
                print(f"  threads={threads} {clf.backend:11s} {rate:7.1f} img/s", flush=True)


if __name__ == "__main__":
    main()
