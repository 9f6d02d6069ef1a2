"""Does the BiLSTM read served tracks better whole or in windows of its training length? (docs/training.md,
check U.)

    .venv/bin/python benchmarks/lstm_window.py --cache runs/cache-256x8               # validation, 8 crops
    D=../shared/data; .venv/bin/python benchmarks/lstm_window.py --split all --cache runs/devcache \\
        --data $D/dev/frames $D/dev/talking_heads --methods $D/sources_round2.csv          # dev/, 32 crops

The bundled model trained on 2-crop windows but is served every crop of a track (32 for a 10 s clip) as
one sequence. This scores one labelled set with `CnnLstm.temporal(feats, window)` for each window (None:
the whole track, as served), through `evaluate` unchanged, and gives each window's video AUC with its
interval and the paired bootstrap interval of its difference from reading the track whole
(`metrics.auc_interval(minus=...)`: reals and fakes resampled apart; check U's table came from an earlier
version that resampled all videos together). The training cache holds 2 patches per track, where every
window is the whole track: export one with more (`export-cache runs/cache-wide352 runs/cache-256x8 --size
256 --frames 8`). ~2 min per window on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np

from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.models.cnn_lstm import CnnLstm
from deepfake_detect.training import evaluate as ev
from deepfake_detect.training.metrics import auc_interval
from deepfake_detect.training.scoring import training_folders

WINDOWS = {"whole": None, "8": 8, "4": 4, "2": 2}
ORIGINAL = CnnLstm.temporal  # every patch reads through the unpatched method, never through another patch


def _reading(window: int | None):
    def temporal(self, feats, _window=None):
        return ORIGINAL(self, feats, window)

    return temporal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--cache", default="runs/cache-256x8", help="a cache with more crops per track")
    parser.add_argument("--split", default="val", choices=("val", "all"))
    parser.add_argument("--methods", help="per-method table (as `evaluate --methods`)")
    parser.add_argument(
        "--data",
        nargs="+",
        help="data folders (default: the ones the checkpoint trained on, under ../shared/data)",
    )
    args = parser.parse_args()
    args.data = args.data or training_folders(model_or_served(args.model).config)
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        for name, window in WINDOWS.items():
            CnnLstm.temporal = _reading(window)
            with tempfile.TemporaryDirectory() as out:
                kwargs = dict(split=args.split, methods=args.methods, progress=False)
                metrics = ev.evaluate(args.data, args.model, out, args.cache, **kwargs)
                scores[name] = ev.read_predictions(out)
            y, p = scores[name]
            low, high = metrics["video_auc_ci95"]
            line = f"window {name:5s} video AUC {metrics['video_auc']:.3f} ({low:.2f}-{high:.2f})"
            if name != "whole":
                low, high = auc_interval(y, p, minus=scores["whole"][1])
                line += f", minus whole: {low:+.3f} to {high:+.3f}"
            methods = {k: v["auc"] for k, v in metrics["against_reals"].items()} if args.methods else {}
            print(line, json.dumps(methods) if methods else "", flush=True)
    finally:
        CnnLstm.temporal = ORIGINAL


if __name__ == "__main__":
    main()
