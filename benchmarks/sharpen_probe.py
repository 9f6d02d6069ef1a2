"""Does sharpening a whole face crop move a checkpoint's answers? (docs/training.md, run W.)

    .venv/bin/python benchmarks/sharpen_probe.py                                   # the bundled model
    .venv/bin/python benchmarks/sharpen_probe.py --model runs/w/w2.safetensors

Scores `evaluate --split val` (the checkpoint's own validation people, from its training cache) once as
served and once per sharpening strength, with every crop sharpened right after `crops_from_patches` by
the training augmentation's own step (`augment.apply_params` with `sharpen=(alpha, lightness)`: the
albumentations Sharpen that SBI's frequency transform also uses). Prints the validation AUC, each data
family's AUC, and how far the calibrated log-odds of reals and fakes move. Phone cameras and upload
pipelines sharpen whole frames, so a checkpoint whose ranking moves with it reads sharpness, not blending.
~40 s per strength on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile

import numpy as np

from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.training import evaluate as ev
from deepfake_detect.training import scoring
from deepfake_detect.training.augment import AugmentParams, apply_params

ORIGINAL = scoring.crops_from_patches


def _sharpened(alpha: float, lightness: float):
    params = AugmentParams(sharpen=(alpha, lightness))

    def crops_from_patches(patches, crop):
        return np.stack([apply_params(c, params) for c in ORIGINAL(patches, crop)])  # [T, S, S, 3]

    return crops_from_patches


def _log_odds(out: str) -> tuple[np.ndarray, np.ndarray]:
    y, p = ev.read_predictions(out)
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return y, np.log(p / (1 - p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--cache", default="runs/cache-gpu256", help="the checkpoint's training cache")
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.2, 0.5], help="sharpening strengths")
    parser.add_argument("--lightness", type=float, default=0.75)
    parser.add_argument(
        "--data",
        nargs="+",
        help="data folders (default: the ones the checkpoint trained on, under ../shared/data)",
    )
    args = parser.parse_args()
    args.data = args.data or scoring.training_folders(model_or_served(args.model).config)
    base: np.ndarray | None = None
    try:
        for alpha in [0.0, *args.alphas]:
            scoring.crops_from_patches = _sharpened(alpha, args.lightness) if alpha else ORIGINAL
            with tempfile.TemporaryDirectory() as out:
                metrics = ev.evaluate(args.data, args.model, out, args.cache, split="val", progress=False)
                y, z = _log_odds(out)
            per_family = metrics["per_family"].items()
            families = {k: round(v["auc"], 3) for k, v in per_family if v["auc"] is not None}
            print(f"alpha {alpha}: AUC {metrics['video_auc']:.3f}, per family {json.dumps(families)}")
            if base is None:
                base = z
                continue
            reals, fakes = (z - base)[y == 0], (z - base)[y == 1]
            up, shift_real, shift_fake = np.nanmean(reals > 0), np.nanmean(reals), np.nanmean(fakes)
            line = f"    log-odds shift: reals {shift_real:+.3f} ({up:.0%} up), fakes {shift_fake:+.3f}"
            print(line, flush=True)
    finally:
        scoring.crops_from_patches = ORIGINAL


if __name__ == "__main__":
    main()
