"""`evaluate`: video- and frame-level metrics of a checkpoint on labelled data, from the crop cache.

Every face track of a video is scored by the serving runtime (`inference.runtime.TrackClassifier`) and the
video's probability is `sigmoid(verdict.video_logit(tracks, config.aggregation), config.temperature)`,
decided against `config.threshold`: the numbers `scan` and the server report. A video with no face track
has no verdict: it counts as 0.5 and is listed under `no_verdict`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models.registry import ModelConfig
from ..verdict import sigmoid, video_logit
from .calibrate import Tracks, compare_aggregations
from .datasets import Source
from .metrics import binary_metrics, per_group_metrics
from .samples import TrackItem, build_items

ScoreFn = Callable[[list[np.ndarray]], Tracks]  # crops per track [T_i, S, S, 3] -> scored tracks


@dataclass
class VideoScores:
    key: str
    label: int
    origin: str
    tracks: Tracks  # (BiLSTM logit, per-frame logits [T]) per face track; empty: no face
    status: str = "ok"  # cache status: ok / no_face / error


def score_videos(
    sources: list[Source],
    records: dict[str, dict],
    crops_for: Callable[[TrackItem], np.ndarray],
    score: ScoreFn,
    progress: bool = False,
) -> list[VideoScores]:
    """Score every source's tracks, one video at a time (its crops in one batch, as the server does)."""
    from tqdm import tqdm

    by_key: dict[str, list[TrackItem]] = {}
    for item in build_items(records, sources):
        by_key.setdefault(item.key, []).append(item)
    out = []
    for s in tqdm(sources, desc="scoring", unit="clip", disable=not progress, leave=False):
        items = by_key.get(s.key, [])
        tracks = score([crops_for(it) for it in items]) if items else []
        out.append(VideoScores(s.key, s.label, s.origin, tracks, records[s.key]["status"]))
    return out


def video_probabilities(videos: list[VideoScores], config: ModelConfig) -> np.ndarray:
    """[N] calibrated P(fake) per video by the model's rule; NaN without a face track."""
    logits = [video_logit(v.tracks, config.aggregation) for v in videos]
    return np.array([np.nan if z is None else float(sigmoid(z, config.temperature)) for z in logits])


def compute_metrics(videos: list[VideoScores], config: ModelConfig) -> dict:
    """metrics.json content: flat headline keys, then the full video/frame tables and breakdowns."""
    labels = np.array([v.label for v in videos], dtype=np.int64)
    probs = video_probabilities(videos, config)
    missing = np.isnan(probs)
    probs = np.where(missing, 0.5, probs)  # no verdict counts as "don't know"
    video = binary_metrics(labels, probs, config.threshold)
    f_labels = np.concatenate([np.full(len(fl), v.label) for v in videos for _, fl in v.tracks] or [[]])
    f_logits = np.concatenate([fl for v in videos for _, fl in v.tracks] or [[]])
    frame = (
        binary_metrics(f_labels, sigmoid(f_logits, config.temperature), config.threshold)
        if f_labels.size
        else None
    )
    return {
        "video_auc": video["auc"],
        "frame_auc": frame["auc"] if frame else None,
        **{k: video[k] for k in ("log_loss", "accuracy", "precision", "recall", "f1", "eer", "ap")},
        "confusion_matrix": video["confusion_matrix"],
        "threshold": config.threshold,
        "temperature": config.temperature,
        "aggregation": config.aggregation,
        "n_videos": len(videos),
        "n_fake": int(labels.sum()),
        "n_real": int(len(labels) - labels.sum()),
        "n_no_verdict": int(missing.sum()),
        "no_verdict": [v.key for v, m in zip(videos, missing, strict=True) if m],
        "video": video,
        "frame": frame,
        "per_source": per_group_metrics(labels, probs, [v.origin for v in videos], config.threshold),
        "aggregations": compare_aggregations(labels, [v.tracks for v in videos]),
    }


def write_report(videos: list[VideoScores], config: ModelConfig, out_dir: str | Path) -> dict:
    """Write metrics.json, predictions.jsonl and the PNG plots into `out_dir`; return the metrics."""
    from .plots import plot_confusion_matrix, plot_roc, plot_score_histograms

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = compute_metrics(videos, config)
    labels = np.array([v.label for v in videos])
    probs = np.nan_to_num(video_probabilities(videos, config), nan=0.5)
    logits = [video_logit(v.tracks, config.aggregation) for v in videos]
    plots = [
        plot_roc(labels, probs, out / "roc.png", f"video ROC ({config.aggregation})"),
        plot_score_histograms(labels, probs, config.threshold, out / "scores.png", "video P(fake)"),
        plot_confusion_matrix(metrics["confusion_matrix"], out / "confusion_matrix.png", "videos"),
    ]
    if metrics["frame"]:
        f_labels = np.concatenate([np.full(len(fl), v.label) for v in videos for _, fl in v.tracks])
        f_probs = sigmoid(np.concatenate([fl for v in videos for _, fl in v.tracks]), config.temperature)
        plots.append(plot_roc(f_labels, f_probs, out / "frame_roc.png", "frame ROC"))
    metrics["plots"] = [p.name for p in plots]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    with open(out / "predictions.jsonl", "w") as f:
        for v, p, z in zip(videos, probs, logits, strict=True):
            verdict = "NO_FACE" if not v.tracks else "FAKE" if p >= config.threshold else "REAL"
            row = {"path": v.key, "label": v.label, "fake_probability": round(float(p), 5), "logit": z}
            f.write(
                json.dumps(row | {"prediction": verdict, "faces": len(v.tracks), "origin": v.origin}) + "\n"
            )
    return metrics


def evaluate(
    data: list[str],
    model_path: str | Path,
    out_dir: str | Path,
    cache_dir: str | Path | None = None,
    layout: str = "auto",
    split: str = "all",
    val_fraction: float | None = None,
    seed: int | None = None,
    workers: int = 2,
    with_sbi_copies: bool = False,
    progress: bool = True,
) -> dict:
    """Prepare (or reuse) the cache for `data`, score it with the checkpoint and write the report.

    `split` = "val"/"train" evaluates one side of the training split (same rule, seed and fraction as the
    checkpoint's training run unless given), e.g. to score the held-out speakers only.
    `with_sbi_copies`: also score a Self-Blended copy of every real video and report, under `sbi_copies`,
    how well the reals are told from their blended copies (the main metrics stay on the data as given).
    """
    from ..config import Settings
    from ..inference.runtime import TrackClassifier
    from ..models.checkpoint import load_checkpoint
    from .cache import CacheSpec, load_track, prepare, read_spec
    from .datasets import discover_all, split_sources
    from .samples import SBI_SUFFIX, resize_crops, sbi_copies, sbi_copy_crops

    loaded = load_checkpoint(model_path)
    config = loaded.config
    recipe = config.extra.get("training", {}).get("recipe", {})
    sources = discover_all(data, layout)
    if split != "all":
        frac = val_fraction if val_fraction is not None else recipe.get("val_fraction", 0.2)
        seed = recipe.get("seed", 0) if seed is None else seed
        train, val = split_sources(sources, frac, seed, val_match=recipe.get("val_match"))
        sources = val if split == "val" else train
    if cache_dir is None:  # reuse the training cache when it is still there, else make one next to the report
        trained = config.extra.get("training", {}).get("data", {}).get("cache")
        cache_dir = trained if trained and Path(trained, "spec.json").is_file() else Path(out_dir) / "cache"
    spec = read_spec(cache_dir) or CacheSpec.from_settings(Settings(), scale=config.crop_scale)
    if abs(spec.scale - config.crop_scale) > 1e-6:
        raise ValueError(f"cache crops at scale {spec.scale}, the model expects {config.crop_scale}")
    records = prepare(sources, cache_dir, spec, workers=workers, progress=progress)
    copies = sbi_copies(sources, records) if with_sbi_copies else []
    classifier = TrackClassifier(loaded)

    def crops_for(item: TrackItem) -> np.ndarray:
        crops = sbi_copy_crops(load_track(cache_dir, {"file": item.file}, spec.size), item)
        return resize_crops(crops, config.input_size)

    scored = score_videos(sources + copies, records, crops_for, classifier.score_tracks, progress)
    videos = [v for v in scored if not v.key.endswith(SBI_SUFFIX)]
    metrics = write_report(videos, config, out_dir)
    if copies:  # reals against their own blended copies
        pairs = [v for v in scored if v.label == 0 or v.key.endswith(SBI_SUFFIX)]
        probs = np.nan_to_num(video_probabilities(pairs, config), nan=0.5)
        metrics["sbi_copies"] = binary_metrics(np.array([v.label for v in pairs]), probs, config.threshold)
    metrics["model_id"] = loaded.model_id
    metrics["data"] = [str(Path(d).resolve()) for d in data]
    metrics["split"] = split
    (Path(out_dir) / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics
