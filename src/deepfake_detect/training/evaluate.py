"""`evaluate`: video- and frame-level metrics of a checkpoint on labelled data, from the crop cache.

Videos are scored by `scoring.py` (the server's crops, the eager fp32 classifier) and judged by the model's
`verdict.ScoringRule`, against `config.threshold`: the numbers `scan` and the server report. A video with
no face track has no verdict: it counts as 0.5 and is listed under `no_verdict`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..models.registry import ModelConfig
from ..verdict import ScoringRule, sigmoid
from .calibrate import compare_aggregations
from .datasets import Source
from .metrics import auc_interval, binary_metrics, per_group_metrics
from .samples import SBI_SUFFIX
from .scoring import VideoScores, prepare_scoring, video_probabilities


def _frame_scores(videos: list[VideoScores], config: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """Labels and calibrated P(fake) of every scored frame: [F], [F]."""
    labels = [np.full(len(t.frame_logits), v.label) for v in videos for t in v.tracks]
    logits = [t.frame_logits for v in videos for t in v.tracks]
    if not labels:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(labels), sigmoid(np.concatenate(logits), config.temperature)


def family(origin: str) -> str:
    """The data family of an origin ("dfdc_faces/fake" -> "dfdc_faces"): its fakes and reals together.

    Why: the pooled validation AUC also moves with where each family's scores sit against the others';
    two draws of one recipe differed by 0.05 pooled and by 0.001 within DFDC (docs/training.md, run V).

    >>> family("dfdc_faces/fake"), family("utkface")
    ('dfdc_faces', 'utkface')
    """
    return origin.split("/", 1)[0]


def compute_metrics(videos: list[VideoScores], config: ModelConfig) -> dict:
    """metrics.json content: flat headline keys, then the full video/frame tables and breakdowns."""
    labels = np.array([v.label for v in videos], dtype=np.int64)
    probs = video_probabilities(videos, config)
    missing = np.isnan(probs)
    probs = np.where(missing, 0.5, probs)  # no verdict counts as "don't know"
    video = binary_metrics(labels, probs, config.threshold)
    f_labels, f_probs = _frame_scores(videos, config)
    frame = binary_metrics(f_labels, f_probs, config.threshold) if f_labels.size else None
    return {
        "video_auc": video["auc"],
        "video_auc_ci95": auc_interval(labels, probs) if labels.size else None,
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
        "per_family": per_group_metrics(labels, probs, [family(v.origin) for v in videos], config.threshold),
        "against_reals": against_reals(videos, config),
        "aggregations": compare_aggregations(labels, [v.tracks for v in videos]),
    }


def against_reals(videos: list[VideoScores], config: ModelConfig) -> dict[str, dict]:
    """Per origin (dataset / method): its fakes against EVERY real of the set: AUC, log loss, accuracy,
    precision, recall, F1 at the model's threshold, with counts.

    A cross-dataset set has methods with fakes only (FF++ Face2Face, a lip-sync generator): these figures
    say how well their fakes stand out from the set's reals. "all" is the whole set; each family
    (`family`) with fakes of more than one origin comes before its origins, e.g. "frames" (every fake frame
    of `dev/`, whose scores sit at another offset than its clips'). Origins without fakes are left out.
    Videos without a face count as 0.5, as in `compute_metrics`."""
    labels = np.array([v.label for v in videos])
    probs = np.nan_to_num(video_probabilities(videos, config), nan=0.5)
    origins = np.array([v.origin for v in videos])
    families = np.array([family(o) for o in origins])
    reals = labels == 0
    fake_origins = sorted({v.origin for v in videos if v.label})
    mixed = sorted({f for f in map(family, fake_origins) if sum(family(o) == f for o in fake_origins) > 1})
    rows = sorted([*mixed, *fake_origins], key=lambda n: (family(n), n != family(n), n))
    out = {}
    for name in ["all", *rows]:
        member = families == name if name in mixed else origins == name
        fakes = (labels == 1) & (member | (name == "all"))
        if reals.any() and fakes.any():
            y = np.r_[np.zeros(reals.sum()), np.ones(fakes.sum())]
            m = binary_metrics(y, np.r_[probs[reals], probs[fakes]], config.threshold)
            keys = ("auc", "log_loss", "accuracy", "precision", "recall", "f1", "n_fake", "n_real")
            out[name] = {k: round(m[k], 4) if isinstance(m[k], float) else m[k] for k in keys}
    return out


def relabel_methods(sources: list[Source], table: str | Path) -> list[Source]:
    """Origins refined by a provenance CSV (columns ``path``, ``method``; paths relative to the CSV's
    folder), so a folder mixing generators reports each method: ``talking_heads/fake:Wav2Lip lip-sync``."""
    import csv
    import dataclasses

    root = Path(table).resolve().parent
    with open(table, newline="") as f:
        method = {str((root / row["path"]).resolve()): row["method"] for row in csv.DictReader(f)}
    return [
        dataclasses.replace(s, origin=f"{s.origin}:{method[s.path]}")
        if s.label and method.get(s.path, "none") != "none"
        else s
        for s in sources
    ]


def read_predictions(out_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(labels [N], P(fake) [N]) from a report's predictions.jsonl, sorted by path, so two reports on the
    same data line up video for video (the benchmarks compare one set scored two ways)."""
    rows = [json.loads(line) for line in (Path(out_dir) / "predictions.jsonl").read_text().splitlines()]
    rows.sort(key=lambda r: r["path"])
    return np.array([r["label"] for r in rows]), np.array([r["fake_probability"] for r in rows], np.float64)


def write_report(videos: list[VideoScores], config: ModelConfig, out_dir: str | Path) -> dict:
    """Write metrics.json, predictions.jsonl and the PNG plots into `out_dir`; return the metrics."""
    from .plots import plot_auc_by_origin, plot_confusion_matrix, plot_roc, plot_score_histograms

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = compute_metrics(videos, config)
    labels = np.array([v.label for v in videos])
    probs = np.nan_to_num(video_probabilities(videos, config), nan=0.5)
    plots = [
        plot_roc(labels, probs, out / "roc.png", f"video ROC ({config.aggregation})"),
        plot_score_histograms(labels, probs, config.threshold, out / "scores.png", "video P(fake)"),
        plot_confusion_matrix(metrics["confusion_matrix"], out / "confusion_matrix.png", "videos"),
    ]
    if metrics["frame"]:
        f_labels, f_probs = _frame_scores(videos, config)
        plots.append(plot_roc(f_labels, f_probs, out / "frame_roc.png", "frame ROC"))
    if len(metrics["against_reals"]) > 2:  # more than one dataset / method: one bar each
        plots.append(plot_auc_by_origin(metrics["against_reals"], out / "auc_by_source.png"))
    metrics["plots"] = [p.name for p in plots]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    rule = ScoringRule.of(config)
    with open(out / "predictions.jsonl", "w") as f:
        for v, p in zip(videos, probs, strict=True):
            verdict = rule.judge(v.tracks)
            row = {
                "path": v.key,
                "label": v.label,
                "fake_probability": round(float(p), 5),
                "logit": verdict.logit,
            }
            f.write(
                json.dumps(row | {"prediction": verdict.label, "faces": len(v.tracks), "origin": v.origin})
                + "\n"
            )
    return metrics


def evaluate(
    data: list[str],
    model_path: str | Path | None,
    out_dir: str | Path,
    cache_dir: str | Path | None = None,
    layout: str = "auto",
    split: str = "all",
    val_fraction: float | None = None,
    seed: int | None = None,
    workers: int = 2,
    with_sbi_copies: bool = False,
    progress: bool = True,
    methods: str | Path | None = None,
) -> dict:
    """Prepare (or reuse) the cache for `data`, score it with the checkpoint and write the report.

    `split` = "val"/"train" evaluates one side of the training split (same rule, seed and fraction as the
    checkpoint's training run unless given), e.g. to score the held-out speakers only. `cache_dir`
    defaults to the checkpoint's training cache when it is still there, else `out_dir/cache`.
    `with_sbi_copies`: also score a Self-Blended copy of every real video and report, under `sbi_copies`,
    how well the reals are told from their blended copies (the main metrics stay on the data as given).
    """
    from ..inference.bundled import model_or_served
    from ..inference.runtime import TrackClassifier

    loaded = model_or_served(model_path)  # None: as `scan` and the server
    config = loaded.config
    scoring = prepare_scoring(
        config, data, split, cache_dir, Path(out_dir) / "cache", layout, val_fraction, seed, workers, progress
    )
    if methods:
        scoring.sources = relabel_methods(scoring.sources, methods)
    copies = scoring.add_sbi_copies() if with_sbi_copies else []
    classifier = TrackClassifier(loaded, faces=scoring.face)
    scored = scoring.score(classifier.score_tracks, progress)
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
