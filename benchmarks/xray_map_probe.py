"""Check AJ (docs/training.md): a `--xray` run's boundary map read as the detector, not its classifier.

    R=runs/ai; D=../shared/data; F="$D/dfdc_faces $D/utkface $D/talking_heads $D/faces $D/timit"
    .venv/bin/python benchmarks/xray_map_probe.py $R/shipped.safetensors $R/ablation-lowres/last.pt \\
        --split val --sbi-copies --cache runs/cache-gpu256 --data $F
    .venv/bin/python benchmarks/xray_map_probe.py $R/shipped.safetensors $R/ablation-lowres/last.pt \\
        --cache runs/eval_dev_cache --data $D/dev/frames $D/dev/talking_heads --methods $D/sources_round2.csv

Face X-ray decides from the predicted boundary map itself. This scores the checkpoint's crops through
`evaluate` unchanged, with `TrackClassifier.score_tracks` swapped for the map: a crop's logit is its map's
highest cell (the strongest seam anywhere on the face), a track's the mean of its crops'. The head comes
from the run's `last.pt` (the checkpoint holds the model alone), so give the `last.pt` of the same epoch.
Eager fp32 on the CPU; AUCs only (the map has no calibration). ~3 min for validation on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np
import torch

from deepfake_detect.inference.runtime import TrackClassifier, TrackScore
from deepfake_detect.training import evaluate as ev
from deepfake_detect.training.xray import XrayHead

ORIGINAL = TrackClassifier.score_tracks


def _map_scores(head: XrayHead):
    @torch.inference_mode()
    def score_tracks(self, tracks: list[np.ndarray], cnn=None) -> list[TrackScore]:
        if not tracks:
            return []
        crops = np.concatenate(tracks)  # [N, S, S, 3]
        parts = []
        for i in range(0, len(crops), self.chunk_size):
            maps, _ = self.model.feature_maps(self.preprocess(crops[i : i + self.chunk_size]))  # [n, C, h, w]
            parts.append(head(maps).flatten(1).amax(dim=1))  # [n]: the strongest cell
        logits = torch.cat(parts).float().numpy()  # [N]
        return [
            TrackScore(float(p.mean()), p) for p in np.split(logits, np.cumsum([len(t) for t in tracks])[:-1])
        ]

    return score_tracks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the run's checkpoint (its crops, split and aggregation)")
    parser.add_argument("state", help="the run's last.pt of the same epoch (the boundary head)")
    parser.add_argument("--cache", required=True)
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--split", default="all", choices=("val", "all"))
    parser.add_argument("--sbi-copies", action="store_true")
    parser.add_argument("--methods", help="per-method table (as `evaluate --methods`)")
    args = parser.parse_args()
    saved = torch.load(args.state, map_location="cpu", weights_only=False)
    head = XrayHead(saved["xray_head"]["conv.weight"].shape[1])
    head.load_state_dict(saved["xray_head"])
    print(f"head of epoch {saved['state']['epoch']}", flush=True)
    TrackClassifier.score_tracks = _map_scores(head.eval())
    try:
        with tempfile.TemporaryDirectory() as out:
            kwargs = dict(
                split=args.split, methods=args.methods, with_sbi_copies=args.sbi_copies, progress=False
            )
            metrics = ev.evaluate(args.data, args.model, out, args.cache, **kwargs)
    finally:
        TrackClassifier.score_tracks = ORIGINAL
    low, high = metrics["video_auc_ci95"]
    print(f"map video AUC {metrics['video_auc']:.3f} ({low:.2f}-{high:.2f})")
    if "sbi_copies" in metrics:
        print(f"SBI copies {metrics['sbi_copies']['auc']:.3f}")
    print(
        json.dumps({k: round(v["auc"], 3) for k, v in metrics["per_family"].items() if v["auc"] is not None})
    )
    if args.methods:
        print(
            json.dumps(
                {k: round(v["auc"], 2) for k, v in metrics["against_reals"].items() if v["auc"] is not None}
            )
        )


if __name__ == "__main__":
    main()
