"""Does the model see DFDC swaps under the offsets between videos? (docs/training.md, check AA.)

    .venv/bin/python benchmarks/dfdc_pairs.py --cache runs/cache-gpu256     # the bundled model

Scores the checkpoint's validation split (its training folders, as `evaluate --split val`), pairs each
`dfdc_faces/` fake with the real video it was made from (`labels.csv`'s `original`), and reports, on the
pairs with both sides scored: the pooled AUC (every fake against every real), the share of pairs whose
fake scores above its own real (ties half), each with a 95 % bootstrap interval over pairs, and how far
scores move between videos (the reals' logit spread) against within a pair (the fake minus its real).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.training import evaluate as ev
from deepfake_detect.training.scoring import training_folders


def pairs(predictions: Path, dfdc: Path) -> np.ndarray:
    """[P, 2] logits (fake, its own real) of every validation pair with both sides scored."""
    logit = {}
    for line in predictions.read_text().splitlines():
        row = json.loads(line)
        if row["faces"]:
            logit[str(Path(row["path"]).resolve())] = row["logit"]
    with open(dfdc / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    real = {r["original"]: str((dfdc / r["file"]).resolve()) for r in rows if r["label"] == "REAL"}
    out = []
    for r in rows:
        fake, own = str((dfdc / r["file"]).resolve()), real.get(r["original"])
        if r["label"] == "FAKE" and fake in logit and own in logit:
            out.append((logit[fake], logit[own]))
    return np.array(out, np.float64).reshape(-1, 2)


def figures(p: np.ndarray) -> tuple[float, float]:
    """(pooled AUC, paired share) of [P, 2] (fake, real) logits."""
    y = np.r_[np.ones(len(p)), np.zeros(len(p))]
    share = float(np.mean((p[:, 0] > p[:, 1]) + 0.5 * (p[:, 0] == p[:, 1])))
    return float(roc_auc_score(y, np.r_[p[:, 0], p[:, 1]])), share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--cache", default="runs/cache-gpu256", help="the checkpoint's training cache")
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap resamples of the pairs")
    args = parser.parse_args()
    data = training_folders(model_or_served(args.model).config)
    dfdc = next(Path(d) for d in data if Path(d).name == "dfdc_faces")
    with tempfile.TemporaryDirectory() as out:
        ev.evaluate(data, args.model, out, args.cache, split="val", progress=False)
        p = pairs(Path(out) / "predictions.jsonl", dfdc)
    rng = np.random.default_rng(0)
    boot = np.array([figures(p[rng.integers(0, len(p), len(p))]) for _ in range(args.boot)])  # [B, 2]
    (auc, share), (lo, hi) = figures(p), np.percentile(boot, [2.5, 97.5], axis=0)
    print(f"{len(p)} DFDC validation pairs (fake, its own real), both scored")
    print(f"pooled AUC {auc:.3f} ({lo[0]:.3f}-{hi[0]:.3f})")
    print(f"fake above its own real {share:.3f} ({lo[1]:.3f}-{hi[1]:.3f})")
    diff = p[:, 0] - p[:, 1]
    print(
        f"logits: reals' SD across videos {p[:, 1].std():.2f}, fakes' {p[:, 0].std():.2f}; "
        f"fake minus its real: median {np.median(diff):+.2f}, SD {diff.std():.2f}; "
        f"correlation of a fake with its real {np.corrcoef(p[:, 0], p[:, 1])[0, 1]:.2f}"
    )


if __name__ == "__main__":
    main()
