"""Evaluation metrics and threshold selection for the binary classifier (probabilities: `verdict.sigmoid`).

Convention: label 1 = FAKE (positive class), 0 = REAL; ``probs`` are P(FAKE). Every returned value is a
plain Python ``float`` / ``int`` / ``None`` / ``list`` so results can go straight into ``json.dumps``.

Example::

    >>> import numpy as np
    >>> m = binary_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]), threshold=0.5)
    >>> m["auc"], m["accuracy"], m["confusion_matrix"]
    (0.75, 0.75, [[2, 0], [1, 1]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

_EPS = 1e-6


def _as_arrays(labels: Any, probs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert to (int labels, float scores) 1-D arrays of equal, non-zero length."""
    y = np.asarray(labels).astype(np.int64).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels and scores differ in length: {y.shape[0]} vs {p.shape[0]}")
    if y.size == 0:
        raise ValueError("empty labels")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (REAL) or 1 (FAKE)")
    if not np.isfinite(p).all():
        raise ValueError("scores contain NaN or inf")
    return y, p


def _both_classes(y: np.ndarray) -> bool:
    return bool(y.min() == 0 and y.max() == 1)


def auc_interval(
    labels: np.ndarray,
    probs: np.ndarray,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    minus: np.ndarray | None = None,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the ROC AUC, resampling REAL and FAKE apart (each keeps its count).

    Why: the dev set has 10 reals and 33 fakes, where one real moving across the fakes moves the AUC by
    0.1; a run table without intervals invites choosing by noise. With `minus` (other scores of the same
    videos), the interval of AUC(probs) - AUC(minus), both read on the same resampled videos: a paired
    comparison of two readings of one set. None with one class.

    >>> lo, hi = auc_interval(np.array([0, 0, 0, 1, 1, 1]), np.array([0.1, 0.3, 0.6, 0.4, 0.7, 0.9]))
    >>> bool(lo < 0.889 < hi)
    True
    """
    y, p = _as_arrays(labels, probs)
    if not _both_classes(y):
        return None
    rng = np.random.default_rng(seed)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    r = real[rng.integers(0, real.size, (n_boot, real.size))]  # [B, n_real] indices
    f = fake[rng.integers(0, fake.size, (n_boot, fake.size))]  # [B, n_fake]
    aucs = _resampled_aucs(p, r, f)
    if minus is not None:
        aucs -= _resampled_aucs(_as_arrays(labels, minus)[1], r, f)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(aucs, [tail, 100 - tail])
    return float(lo), float(hi)


def _resampled_aucs(p: np.ndarray, real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """[B] AUC of each resample: scores p [N], indices real [B, n_real] and fake [B, n_fake]."""
    n_fake, n_real = fake.shape[1], real.shape[1]
    # Mann-Whitney: AUC = (rank sum of the fakes - n_f (n_f + 1) / 2) / (n_f n_r), ties at mean rank
    ranks = rankdata(np.concatenate([p[fake], p[real]], axis=1), axis=1)[:, :n_fake]  # [B, n_fake]
    return (ranks.sum(1) - n_fake * (n_fake + 1) / 2) / (n_fake * n_real)


def equal_error_rate(labels: np.ndarray, probs: np.ndarray) -> tuple[float | None, float | None]:
    """Return ``(eer, threshold)`` where FPR equals FNR (= 1 - TPR), linearly interpolated on the ROC.

    Both are ``None`` when only one class is present.

    >>> equal_error_rate(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    (0.0, 0.8)
    """
    y, p = _as_arrays(labels, probs)
    if not _both_classes(y):
        return None, None
    fpr, tpr, thr = roc_curve(y, p, drop_intermediate=False)
    diff = fpr - (1.0 - tpr)  # non-decreasing from -1 to +1
    i = int(np.argmax(diff >= 0))
    if diff[i] == 0 or i == 0:
        return float(fpr[i]), float(min(thr[i], 1.0) if np.isinf(thr[i]) else thr[i])
    w = -diff[i - 1] / (diff[i] - diff[i - 1])
    eer = fpr[i - 1] + w * (fpr[i] - fpr[i - 1])
    t0, t1 = thr[i - 1], thr[i]
    t = t1 if not np.isfinite(t0) else t0 + w * (t1 - t0)
    return float(eer), float(t)


def log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean binary cross-entropy of P(FAKE) scores, clipped to [1e-6, 1 - 1e-6] (a confident miss costs
    13.8 nats, not infinity).

    >>> round(log_loss(np.array([0, 1]), np.array([0.2, 0.9])), 4)
    0.1643
    """
    y, p = np.asarray(labels, np.float64), np.clip(np.asarray(probs, np.float64), _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def binary_metrics(labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, Any]:
    """Compute the full metric set for P(FAKE) scores; a prediction is FAKE when ``prob >= threshold``.

    Keys: auc, log_loss, accuracy, precision, recall, f1, eer, eer_threshold, ap, confusion_matrix
    ([[tn, fp], [fn, tp]]), n, n_fake, n_real, threshold. ``auc``/``eer``/``eer_threshold`` are None with
    one class only; ``ap`` is None when there are no FAKE samples.
    """
    y, p = _as_arrays(labels, probs)
    pred = (p >= threshold).astype(np.int64)
    both = _both_classes(y)
    eer, eer_thr = equal_error_rate(y, p)
    cm = confusion_matrix(y, pred, labels=[0, 1])
    n_fake = int(y.sum())
    return {
        "auc": float(roc_auc_score(y, p)) if both else None,
        "log_loss": log_loss(y, p),
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, labels=[0, 1], pos_label=1, zero_division=0)),
        "recall": float(recall_score(y, pred, labels=[0, 1], pos_label=1, zero_division=0)),
        "f1": float(f1_score(y, pred, labels=[0, 1], pos_label=1, zero_division=0)),
        "eer": eer,
        "eer_threshold": eer_thr,
        "ap": float(average_precision_score(y, p)) if n_fake > 0 else None,
        "confusion_matrix": [[int(v) for v in row] for row in cm],
        "n": int(y.size),
        "n_fake": n_fake,
        "n_real": int(y.size - n_fake),
        "threshold": float(threshold),
    }


THRESHOLD_RULES = ("eer", "f1", "fpr5")
FALSE_ALARM_RATE = 0.05  # "fpr5": the share of validation REAL videos the threshold may flag


def choose_threshold(labels: np.ndarray, probs: np.ndarray, rule: str) -> float:
    """Pick a decision threshold on validation scores: the EER point, the F1-maximising cut, or
    ``"fpr5"``, the lowest cut that flags at most `FALSE_ALARM_RATE` of the REAL videos.

    Why fpr5: EER balances false alarms against misses, which is a false alarm on every other genuine
    video when the val ranking is weak (an SBI-only model on DFDC val, AUC 0.58: 45 % of val reals
    flagged). A false alarm accuses a real person's footage; a fixed false-alarm rate bounds that,
    whatever the ranking, and costs recall instead.

    Raises ``ValueError`` when only one class is present (no meaningful threshold).

    >>> choose_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), "f1")
    0.8
    """
    y, p = _as_arrays(labels, probs)
    if not _both_classes(y):
        raise ValueError("choose_threshold needs both REAL and FAKE samples")
    if rule == "eer":
        _, thr = equal_error_rate(y, p)
        assert thr is not None
        return thr
    if rule == "fpr5":
        reals = np.sort(p[y == 0])[::-1]  # most fake-looking first
        allowed = int(np.floor(FALSE_ALARM_RATE * reals.size))  # reals that may score >= the cut
        return float(np.nextafter(reals[allowed], 1.0))  # just above the first real to stay below
    if rule == "f1":
        prec, rec, thr = precision_recall_curve(y, p)
        prec, rec = prec[:-1], rec[:-1]  # the last point (recall 0) has no threshold
        denom = prec + rec
        f1 = np.divide(2 * prec * rec, denom, out=np.zeros_like(denom), where=denom > 0)
        return float(thr[int(np.argmax(f1))])
    raise ValueError(f"unknown threshold rule {rule!r} (expected one of {THRESHOLD_RULES})")


def per_group_metrics(
    labels: np.ndarray, probs: np.ndarray, groups: list[str], threshold: float
) -> dict[str, dict[str, Any]]:
    """Metrics per source group (e.g. manipulation method or dataset), keyed by group name, sorted.

    Each entry: n, n_fake, n_real, mean_prob, accuracy, auc (None with one class), plus
    tpr (FAKE caught; None without fakes) and fpr (REAL flagged; None without reals).

    >>> per_group_metrics(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4]), ["a", "a", "b"], 0.5)["b"]["tpr"]
    0.0
    """
    y, p = _as_arrays(labels, probs)
    g = np.asarray([str(x) for x in groups])
    if g.shape != y.shape:
        raise ValueError(f"groups has {g.size} entries, expected {y.size}")
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(g.tolist())):
        m = g == name
        yg, pg = y[m], p[m]
        pred = pg >= threshold
        fake, real = yg == 1, yg == 0
        out[name] = {
            "n": int(m.sum()),
            "n_fake": int(fake.sum()),
            "n_real": int(real.sum()),
            "mean_prob": float(pg.mean()),
            "accuracy": float(np.mean(pred == (yg == 1))),
            "auc": float(roc_auc_score(yg, pg)) if _both_classes(yg) else None,
            "tpr": float(pred[fake].mean()) if fake.any() else None,
            "fpr": float(pred[real].mean()) if real.any() else None,
        }
    return out
