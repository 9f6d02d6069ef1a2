"""`calibrate`: refit a finished checkpoint's bias, temperature and threshold on labelled videos.

Why: a model's probabilities are fitted on its own validation split (`calibrate.py`), and they do not
carry over to footage unlike it (the bundled model's dev log loss was 1.78). This refits them, by the
same rule, on data you choose, without retraining:

- your own labelled footage (`--split all`, the default): probabilities for your domain;
- the model's validation split (`--split val`), e.g. after the rule changed (class-balanced Platt
  scaling); `--split-of RUN_CHECKPOINT` takes the split from another checkpoint's recipe, for a file
  that lost its own (the bundled model of 2026-12-02).

`--temperature-rule worst-family` fits bias and temperature to the data family the model ranks worst
(`calibrate.fit_worst_family`) rather than to all videos pooled: probabilities sized for footage the model
is weak on. Ranks, and the share of val videos flagged, stay as they were.

Only the last layer's bias (the fitted offset), the temperature and the threshold change; the new file
records what it was refitted on under `extra["recalibrated"]`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..verdict import sigmoid
from .calibrate import Calibration, apply_calibration, calibrate, logit_bias, video_logits
from .metrics import log_loss
from .sampling import family_of
from .scoring import prepare_scoring


def recalibrate(
    data: list[str],
    model_path: str | Path | None,
    out_path: str | Path,
    split: str = "all",
    split_of: str | Path | None = None,
    cache_dir: str | Path | None = None,
    layout: str = "auto",
    threshold_rule: str = "eer",
    temperature_rule: str = "pooled",
    workers: int = 2,
    progress: bool = True,
) -> tuple[Calibration, dict]:
    """Score `data` (one `split` of it) with the checkpoint (None: the served one), refit, write `out_path`.

    Returns the calibration and a summary: log loss of the videos before and after, old and new
    temperature and threshold. Raises ValueError without both REAL and FAKE videos with a face."""
    from ..inference.bundled import model_or_served
    from ..inference.runtime import TrackClassifier

    loaded = model_or_served(model_path)  # None: as `scan` and `evaluate`
    config = loaded.config
    split_config = config
    if split_of is not None:  # the split (and training cache) of another run's recipe
        training = load_checkpoint(split_of).config.extra.get("training", {})
        split_config = dataclasses.replace(config, extra={**config.extra, "training": training})
    out_path = Path(out_path)
    fallback = out_path.with_name(out_path.stem + "-cache")
    scoring = prepare_scoring(
        split_config, data, split, cache_dir, fallback, layout, None, None, workers, progress
    )
    videos = scoring.score(TrackClassifier(loaded, faces=scoring.face).score_tracks, progress)
    labels = np.array([v.label for v in videos], dtype=np.int64)
    tracks = [v.tracks for v in videos]
    families = [family_of(v) for v in videos] if temperature_rule == "worst-family" else None
    calib = calibrate(labels, tracks, threshold_rule, aggregation=config.aggregation, families=families)
    if not calib.calibrated:
        raise ValueError("calibration needs REAL and FAKE videos with a face; found one class only")

    z = video_logits(tracks, config.aggregation)
    ok = ~np.isnan(z)
    summary = {
        "videos": int(ok.sum()),
        "fake": int(labels[ok].sum()),
        "log_loss_before": log_loss(labels[ok], sigmoid(z[ok], config.temperature)),
        "log_loss_after": log_loss(labels[ok], sigmoid(z[ok] + calib.bias, calib.temperature)),
        "temperature": [config.temperature, calib.temperature],
        "threshold": [config.threshold, calib.threshold],
        "bias_added": calib.bias,
        "temperature_rule": calib.temperature_rule,
    }
    new = apply_calibration(config, calib)
    record = {
        "from": loaded.model_id,
        "data": [str(Path(d).resolve()) for d in data],
        "split": split,
        "split_of": str(split_of) if split_of else None,
        **summary,
    }
    new = dataclasses.replace(new, extra={**new.extra, "recalibrated": record})
    with logit_bias(loaded.model, calib.bias):
        save_checkpoint(loaded.model, new, out_path)
    return calib, summary
