"""Do a trunk's features carry the DFDC swap at all? A linear probe (docs/training.md, check AB).

    .venv/bin/python benchmarks/dfdc_probe.py --cache runs/cache-gpu256     # the bundled model

The pooled CNN features of every `dfdc_faces/` crop as served, for the checkpoint's trunk and for the
ImageNet trunk it started from; a logistic regression (standardised features, C = 0.1) fitted on the
checkpoint's training people and read on its validation people: AUC, and the share of pairs whose fake
scores above its own real (`dfdc_pairs.py`). Diagnosis only: no checkpoint comes out of it. 7 min on
2 cores (eager ImageNet trunk; the checkpoint's runs on its served backend).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import dfdc_pairs  # benchmarks/, beside this script
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from deepfake_detect.inference.bundled import model_or_served
from deepfake_detect.inference.runtime import TrackClassifier
from deepfake_detect.models.registry import create_model
from deepfake_detect.training.metrics import auc_interval
from deepfake_detect.training.samples import build_items
from deepfake_detect.training.scoring import prepare_scoring, training_folders


def dfdc_features(classifier: TrackClassifier, cnns: dict, data: list[str], split: str, cache: str):
    """({trunk: [N, C]}, labels [N], pair ids [N]) of the DFDC sources of one side of the split."""
    scoring = prepare_scoring(classifier.config, data, split, cache, progress=False)
    sources = {s.key: s for s in scoring.sources if s.origin.startswith("dfdc_faces")}
    feats: dict[str, list[np.ndarray]] = {name: [] for name in cnns}
    labels, pairs = [], []
    items = {it.key: it for it in reversed(build_items(scoring.records, list(sources.values())))}
    for item in tqdm(items.values(), desc=split, leave=False):  # each source's first face track
        crops = scoring.crops(item)
        for name, cnn in cnns.items():
            feats[name].append(classifier.features(crops, cnn).mean(0).numpy())
        source = sources[item.key]
        labels.append(source.label)
        pairs.append(source.original or Path(source.path).stem)  # a fake's real video, a real's own name
    return {k: np.stack(v) for k, v in feats.items()}, np.array(labels), np.array(pairs)


def paired_share(probs: np.ndarray, labels: np.ndarray, pairs: np.ndarray) -> tuple[float, int]:
    """Share of (fake, its own real) pairs, both scored, whose fake scores higher (ties half), as
    `dfdc_pairs.figures` counts it; and the number of pairs."""
    matched = []
    for group in np.unique(pairs):
        i = pairs == group
        fakes, reals = probs[i & (labels == 1)], probs[i & (labels == 0)]
        if len(reals) == 1:
            matched += [(f, reals[0]) for f in fakes]
    return dfdc_pairs.figures(np.array(matched, np.float64).reshape(-1, 2))[1], len(matched)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--cache", default="runs/cache-gpu256", help="the checkpoint's training cache")
    args = parser.parse_args()
    loaded = model_or_served(args.model)
    classifier = TrackClassifier(loaded)
    imagenet, _ = create_model(loaded.config.arch, pretrained=True)
    cnns = {"checkpoint": None, "ImageNet": imagenet.eval().features}
    data = training_folders(loaded.config)
    with torch.inference_mode():
        train = dfdc_features(classifier, cnns, data, "train", args.cache)
        val = dfdc_features(classifier, cnns, data, "val", args.cache)
    print(f"DFDC crops: {len(train[1])} training ({train[1].sum()} fake), {len(val[1])} validation")
    for name in cnns:
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        probe.fit(train[0][name], train[1])
        p = probe.predict_proba(val[0][name])[:, 1]
        fit = roc_auc_score(train[1], probe.predict_proba(train[0][name])[:, 1])
        share, n = paired_share(p, val[1], val[2])
        low, high = auc_interval(val[1], p)
        print(
            f"{name:10s} probe: val AUC {roc_auc_score(val[1], p):.3f} ({low:.3f}-{high:.3f}), fake above "
            f"its own real {share:.3f} ({n} pairs); on its own training crops {fit:.3f}"
        )


if __name__ == "__main__":
    main()
