"""Video AUC of each approximate backend against fp32 on labelled data, recorded for `RUNTIME=auto`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def validate_accuracy(model_path: Path, data: list[str], runtimes: list[str], workdir: Path) -> dict:
    """Video AUC of each runtime vs eager fp32 on labelled data (the checkpoint's validation split when
    it records one), |P - P_fp32| per video; records the result for RUNTIME=auto."""
    from ..inference.runtime import TrackClassifier
    from ..inference.validation import AUC_TOLERANCE, PROB_TOLERANCE, record_validation
    from ..models.checkpoint import load_checkpoint
    from ..training.metrics import binary_metrics
    from ..training.scoring import prepare_scoring, video_probabilities

    loaded = load_checkpoint(model_path)
    config = loaded.config
    split = "val" if config.extra.get("training", {}).get("recipe") else "all"
    scoring = prepare_scoring(config, data, split, fallback_cache=workdir / "accuracy-cache", progress=False)
    sources = scoring.sources
    labels = np.array([s.label for s in sources])
    results: dict = {"data": [str(d) for d in data], "split": split, "videos": len(sources)}
    reference = None
    for runtime in ["torch", *runtimes]:
        clf = TrackClassifier(loaded, runtime=runtime, faces=scoring.face)
        t0 = time.perf_counter()
        videos = scoring.score(clf.score_tracks)
        probs = np.nan_to_num(video_probabilities(videos, config), nan=0.5)
        auc = binary_metrics(labels, probs, config.threshold)["auc"]
        row = {"backend": clf.backend, "auc": round(auc, 5), "seconds": round(time.perf_counter() - t0, 1)}
        if reference is None:
            reference = (auc, probs)
        else:
            row["auc_drop"] = round(reference[0] - auc, 5)
            row["max_video_diff"] = round(float(np.abs(probs - reference[1]).max()), 5)
            row["passed"] = row["auc_drop"] <= AUC_TOLERANCE and row["max_video_diff"] <= PROB_TOLERANCE
            if clf.backend == runtime and runtime in ("onnx-int8", "torch-bf16"):
                record_validation(clf, runtime, reference[0], auc, row["max_video_diff"], ", ".join(data))
        results[runtime] = row
    return results
