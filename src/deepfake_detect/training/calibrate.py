"""Calibration on the validation set: aggregation rule, temperature, decision threshold.

The rule, stated once (and stored in the checkpoint's `extra`):

1. Aggregation: each of `verdict.AGGREGATIONS` gives a video logit (`verdict.video_logit`: max over
   judged face tracks); keep the one with the highest video ROC AUC (ties: lower log loss after
   temperature scaling).
2. Platt scaling: the bias b and temperature T minimising the log loss of `sigmoid((video_logit + b) / T)`
   (against Platt's smoothed targets, so a perfectly separated val set still gives a finite T), with REAL
   and FAKE weighted equally, so the served `fake_probability` is a calibrated probability for even odds,
   not for the validation set's mix (about 1 fake in 3; the dev set has 3 in 4 and other footage
   anything): the same mix-independence as the EER threshold. With a weak ranking off-domain, the val mix
   alone cost log loss: run C's dev log loss was 1.03 with val-prior probabilities. T goes to
   `ModelConfig.temperature`; b is added to the bias of the model's last layer (`head[-1]`), which shifts
   every frame and track logit by b, so the server needs nothing new. (Temperature alone cannot undo an
   offset, and a model trained on a shifted class mix or on SBI is offset: that is how the seed ended up
   calling all FAKE.)
   `temperature_rule="worst-family"` fits b and T to the **worst** data family instead (`fit_worst_family`):
   the footage a user sends is unlike all of ours, so the probabilities are sized for the family on which
   the model ranks worst, not for the pooled mix its best families dominate.
3. Threshold: the equal-error-rate point of the calibrated video probabilities by default (``"eer"``: as
   many REAL flagged as FAKE missed, and independent of the val set's REAL/FAKE mix, unlike F1), the
   F1-maximising cut (``"f1"``), or a fixed false-alarm rate on the val reals (``"fpr5"``:
   `metrics.choose_threshold` says why).

Videos without a face track take no part. With one class only nothing can be fitted: the defaults stay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import torch
from scipy.optimize import minimize, minimize_scalar
from sklearn.metrics import roc_auc_score
from torch import nn

from ..models.cnn_lstm import CnnLstm
from ..models.registry import ModelConfig
from ..verdict import AGGREGATIONS, Tracks, TrackScore, sigmoid, video_logit
from .metrics import choose_threshold, log_loss


@dataclass
class Calibration:
    aggregation: str
    temperature: float = 1.0
    bias: float = 0.0  # added to every logit (folded into the model's last layer)
    threshold: float = 0.5
    threshold_rule: str = "eer"
    temperature_rule: str = "pooled"  # or "worst-family" (`fit_worst_family`)
    calibrated: bool = False
    n_videos: int = 0
    by_aggregation: dict[str, dict] = field(default_factory=dict)  # rule -> {auc, log_loss, temperature}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def video_logits(videos: Sequence[Tracks], rule: str) -> np.ndarray:
    """[N] video logits by `rule`; NaN for a video without a face track."""
    out = [video_logit(tracks, rule) for tracks in videos]
    return np.array([np.nan if v is None else v for v in out], dtype=np.float64)


def shift(videos: Sequence[Tracks], bias: float) -> list[list[TrackScore]]:
    """The videos' scores as a model whose last-layer bias is raised by `bias` would give them."""
    return [[TrackScore(lstm + bias, frames + bias) for lstm, frames in tracks] for tracks in videos]


def platt_targets(labels: np.ndarray) -> np.ndarray:
    """Platt's (1999) targets: (N+ + 1) / (N+ + 2) for FAKE, 1 / (N- + 2) for REAL. With hard 0/1 targets
    a perfectly separated val set drives T to 0 (P(fake) of exactly 0 or 1); these keep it finite and
    cost nothing on large sets."""
    y = np.asarray(labels, np.float64)
    n_pos, n_neg = y.sum(), y.size - y.sum()
    return np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Per-sample weights giving REAL and FAKE half the total each (weights average to 1)."""
    y = np.asarray(labels, np.float64)
    n_pos, n_neg = y.sum(), y.size - y.sum()
    return np.where(y == 1, y.size / (2 * max(n_pos, 1)), y.size / (2 * max(n_neg, 1)))


def _nll(z: np.ndarray, targets: np.ndarray, weights: np.ndarray, log_t: float, bias: float) -> float:
    s = (z + bias) * np.exp(-log_t)
    return float(np.mean(weights * (np.logaddexp(0.0, s) - targets * s)))


LOG_T_BOUNDS = (np.log(0.01), np.log(100.0))  # temperatures are fitted within [0.01, 100]


def fit_platt(labels: np.ndarray, logits: np.ndarray, fit_bias: bool = True) -> tuple[float, float]:
    """(temperature, bias) minimising the class-balanced NLL of sigmoid((logits + bias) / temperature)
    against `platt_targets(labels)`; `fit_bias=False` fits the temperature alone (bias 0). T lies in
    [0.01, 100]."""
    y, z, w = platt_targets(labels), np.asarray(logits, np.float64), class_weights(labels)
    bound = float(np.abs(z).max()) + 1.0
    if not fit_bias:
        res = minimize_scalar(lambda lt: _nll(z, y, w, lt, 0.0), bounds=LOG_T_BOUNDS, method="bounded")
        return float(np.exp(res.x)), 0.0
    t0, _ = fit_platt(labels, logits, fit_bias=False)
    res = minimize(
        lambda p: _nll(z, y, w, p[0], p[1]),
        [np.log(t0), 0.0],
        method="L-BFGS-B",
        bounds=[LOG_T_BOUNDS, (-bound, bound)],
    )
    return float(np.exp(res.x[0])), float(res.x[1])


def fit_worst_family(
    labels: np.ndarray, logits: np.ndarray, families: Sequence[str], fit_bias: bool = True
) -> tuple[float, float]:
    """(temperature, bias) minimising the largest class-balanced NLL over the families that hold both
    REAL and FAKE videos (with fewer than two such families: `fit_platt` on all). Why: a temperature
    fitted on the pooled validation set is sized by the families the model ranks well (the bundled
    model: TIMIT 0.93 AUC), and stays that confident on footage it ranks barely above chance (its
    DFDC validation family, 0.57; every dev dataset). Fitting the worst family makes a weak ranking give
    probabilities near 0.5. Only the size of the probabilities changes: ranks and the threshold's
    operating point (a rank on val) stay as they were. Measured on the bundled model: T 6.35 -> 6.44, as
    DFDC holds 388 of its 425 val fakes and so already sized the pooled fit (docs/training.md)."""
    y, z, fam = np.asarray(labels, np.int64), np.asarray(logits, np.float64), np.asarray(families)
    groups = [g for g in np.unique(fam) if len(np.unique(y[fam == g])) == 2]
    if len(groups) < 2:
        return fit_platt(y, z, fit_bias)
    parts = [(z[fam == g], platt_targets(y[fam == g]), class_weights(y[fam == g])) for g in groups]

    def worst(lt: float, b: float) -> float:
        return max(_nll(zg, tg, wg, float(np.clip(lt, *LOG_T_BOUNDS)), b) for zg, tg, wg in parts)

    if not fit_bias:  # one parameter: a bounded scalar search
        res = minimize_scalar(lambda lt: worst(lt, 0.0), bounds=LOG_T_BOUNDS, method="bounded")
        return float(np.exp(res.x)), 0.0
    t0, b0 = fit_platt(y, z)
    res = minimize(lambda p: worst(p[0], p[1]), [np.log(t0), b0], method="Nelder-Mead")
    return float(np.exp(np.clip(res.x[0], *LOG_T_BOUNDS))), float(res.x[1])


def _widest_margin(probs: np.ndarray, threshold: float) -> float:
    """Move the threshold to the middle (in logit space) of the gap between the val scores on either
    side of it: every val video keeps its side, so the rule's operating point is unchanged, but the
    threshold no longer sits on the least fake-looking fake (where the EER cut of a separable set lands)."""
    below, above = probs[probs < threshold], probs[probs >= threshold]
    if not below.size or not above.size:
        return threshold
    lo, hi = np.clip([below.max(), above.min()], 1e-6, 1 - 1e-6)
    mid = (np.log(lo / (1 - lo)) + np.log(hi / (1 - hi))) / 2
    return float(1 / (1 + np.exp(-mid)))


def compare_aggregations(
    labels: np.ndarray, videos: Sequence[Tracks], rules: Sequence[str] = AGGREGATIONS
) -> dict[str, dict]:
    """Per rule: video AUC, fitted temperature and calibrated log loss (videos with a face only)."""
    labels = np.asarray(labels, dtype=np.int64)
    table = {}
    for rule in rules:
        z = video_logits(videos, rule)
        ok = ~np.isnan(z)
        y, z = labels[ok], z[ok]
        if y.size == 0 or y.min() == y.max():
            table[rule] = {"auc": None, "log_loss": None, "temperature": 1.0}
            continue
        t, b = fit_platt(y, z)
        table[rule] = {
            "auc": float(roc_auc_score(y, z)),
            "log_loss": log_loss(y, sigmoid(z + b, t)),
            "temperature": t,
            "bias": b,
        }
    return table


def calibrate(
    labels: np.ndarray,
    videos: Sequence[Tracks],
    threshold_rule: str = "eer",
    aggregation: str | None = None,
    default_aggregation: str = "lstm",
    families: Sequence[str] | None = None,
) -> Calibration:
    """Pick aggregation (unless given), temperature and threshold on validation videos. With `families`
    (one per video), b and T are fitted to the worst family (`fit_worst_family`), else to all pooled."""
    labels = np.asarray(labels, dtype=np.int64)
    table = compare_aggregations(labels, videos)
    usable = {r: v for r, v in table.items() if v["auc"] is not None}
    if not usable:
        return Calibration(
            aggregation or default_aggregation, threshold_rule=threshold_rule, by_aggregation=table
        )
    if aggregation is None:
        # Highest AUC (rounded: differences below 1e-4 are noise), then lowest calibrated log loss.
        aggregation = max(usable, key=lambda r: (round(usable[r]["auc"], 4), -usable[r]["log_loss"]))
    z = video_logits(videos, aggregation)
    ok = ~np.isnan(z)
    fam = None if families is None else np.asarray(families)[ok]

    def fit(logits: np.ndarray, fit_bias: bool) -> tuple[float, float]:
        if fam is None:
            return fit_platt(labels[ok], logits, fit_bias)
        return fit_worst_family(labels[ok], logits, fam, fit_bias)

    _, bias = fit(z[ok], True)
    # Shifting moves "confident_frames"' frame selection too: refit T on the shifted scores, exactly
    # as the shifted model will produce them (a no-op for "lstm" and "mean_frame").
    z = video_logits(shift(videos, bias), aggregation)[ok]
    temperature, _ = fit(z, False)
    probs = sigmoid(z, temperature)
    threshold = _widest_margin(probs, choose_threshold(labels[ok], probs, threshold_rule))
    return Calibration(
        aggregation=aggregation,
        temperature=float(temperature),
        bias=float(bias),
        threshold=float(np.clip(threshold, 1e-4, 1 - 1e-4)),
        threshold_rule=threshold_rule,
        temperature_rule="pooled" if families is None else "worst-family",
        calibrated=True,
        n_videos=int(ok.sum()),
        by_aggregation=table,
    )


def apply_calibration(config: ModelConfig, calib: Calibration) -> ModelConfig:
    """The config with the calibration's aggregation, temperature and threshold (and the rule in `extra`)."""
    extra = dict(config.extra)
    extra["calibration"] = {
        "threshold_rule": calib.threshold_rule,
        "temperature_rule": calib.temperature_rule,
        "calibrated": calib.calibrated,
        "n_videos": calib.n_videos,
        "logit_bias": calib.bias,
        "aggregation_auc": {r: v["auc"] for r, v in calib.by_aggregation.items()},
    }
    return dataclasses.replace(
        config,
        aggregation=calib.aggregation,
        temperature=calib.temperature,
        threshold=calib.threshold,
        extra=extra,
    )


@contextmanager
def logit_bias(model: CnnLstm, bias: float) -> Iterator[CnnLstm]:
    """Temporarily add `bias` to the model's output logits (its last Linear layer's bias), e.g. to save
    a calibrated checkpoint mid-training. The original weights come back exactly afterwards."""
    layer = cast(nn.Linear, model.head[-1])
    original = layer.bias.detach().clone()
    with torch.no_grad():
        layer.bias.add_(bias)
    try:
        yield model
    finally:
        with torch.no_grad():
            layer.bias.copy_(original)
