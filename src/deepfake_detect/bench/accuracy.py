"""Video AUC of each approximate backend against fp32 on labelled data, recorded for `RUNTIME=auto`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def validate_accuracy(model_path: Path, data: list[str], runtimes: list[str], workdir: Path) -> dict:
    """Video AUC of each runtime vs eager fp32 on labelled data (the checkpoint's validation split when
    it records one), |P - P_fp32| per video; records the result for RUNTIME=auto."""
    from ..config import Settings
    from ..inference.runtime import AUC_TOLERANCE, PROB_TOLERANCE, TrackClassifier, record_validation
    from ..models.checkpoint import load_checkpoint
    from ..training.cache import CacheSpec, load_track, prepare, read_spec
    from ..training.datasets import discover_all, split_sources
    from ..training.evaluate import score_videos, video_probabilities
    from ..training.metrics import binary_metrics
    from ..training.samples import resize_crops

    loaded = load_checkpoint(model_path)
    config = loaded.config
    training = config.extra.get("training", {})
    recipe = training.get("recipe", {})
    sources = discover_all(data)
    split = "all"
    if recipe:
        _, sources = split_sources(
            sources, recipe.get("val_fraction", 0.2), recipe.get("seed", 0), val_match=recipe.get("val_match")
        )
        split = "val"
    cache_dir = training.get("data", {}).get("cache")
    if not (cache_dir and Path(cache_dir, "spec.json").is_file()):
        cache_dir = workdir / "accuracy-cache"
    spec = read_spec(cache_dir) or CacheSpec.from_settings(Settings(), scale=config.crop_scale)
    records = prepare(sources, cache_dir, spec, progress=False)

    def crops_for(item):
        return resize_crops(load_track(cache_dir, {"file": item.file}, spec.size), config.input_size)

    labels = np.array([s.label for s in sources])
    results: dict = {"data": [str(d) for d in data], "split": split, "videos": len(sources)}
    reference = None
    for runtime in ["torch", *runtimes]:
        clf = TrackClassifier(loaded, runtime=runtime)
        t0 = time.perf_counter()
        videos = score_videos(sources, records, crops_for, clf.score_tracks)
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
