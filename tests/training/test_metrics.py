"""Tests for deepfake_detect.training.metrics on small hand-computed cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from deepfake_detect.training.metrics import (
    auc_interval,
    binary_metrics,
    choose_threshold,
    equal_error_rate,
    log_loss,
    per_group_metrics,
)

LABELS = np.array([0, 0, 1, 1])
PROBS = np.array([0.1, 0.4, 0.35, 0.8])


def test_binary_metrics_hand_computed() -> None:
    m = binary_metrics(LABELS, PROBS, threshold=0.5)
    assert m["auc"] == pytest.approx(0.75)
    # tn=2 (0.1, 0.4), fp=0, fn=1 (0.35), tp=1 (0.8)
    assert m["confusion_matrix"] == [[2, 0], [1, 1]]
    assert m["precision"] == pytest.approx(1.0)
    assert m["recall"] == pytest.approx(0.5)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx(2 / 3)
    expected_ll = -np.mean(np.log([0.9, 0.6, 0.35, 0.8]))
    assert m["log_loss"] == pytest.approx(expected_ll)
    # AP: ranking 0.8(+), 0.4(-), 0.35(+), 0.1(-) -> precision at hits 1 and 2/3 -> (1 + 2/3) / 2
    assert m["ap"] == pytest.approx(5 / 6)
    assert (m["n"], m["n_fake"], m["n_real"], m["threshold"]) == (4, 2, 2, 0.5)
    # ROC points (0, 0), (0, .5), (.5, .5), (.5, 1), (1, 1): FPR = FNR = 0.5 at (.5, .5)
    assert m["eer"] == pytest.approx(0.5)


def test_threshold_is_inclusive() -> None:
    m = binary_metrics(LABELS, PROBS, threshold=0.8)
    assert m["confusion_matrix"] == [[2, 0], [1, 1]]


def test_metrics_json_serialisable() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 50)
    p = rng.random(50).astype(np.float32)
    m = binary_metrics(y, p, threshold=np.float32(0.5))
    g = per_group_metrics(y, p, ["a" if i % 2 else "b" for i in range(50)], 0.5)
    json.dumps(m, allow_nan=False)
    json.dumps(g, allow_nan=False)
    for v in m.values():
        assert v is None or type(v) in (float, int, list)


def test_eer_perfectly_separable_is_zero() -> None:
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.05, 0.2, 0.3, 0.7, 0.95])
    eer, thr = equal_error_rate(y, p)
    assert eer == pytest.approx(0.0)
    assert thr is not None and 0.3 < thr <= 0.7
    m = binary_metrics(y, p, threshold=thr)
    assert m["accuracy"] == 1.0 and m["eer"] == pytest.approx(0.0)


def test_eer_interpolated_on_random_scores() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 2000)
    p = np.concatenate([rng.normal(0.4, 0.1, 2000), rng.normal(0.6, 0.1, 2000)])
    eer, thr = equal_error_rate(y, p)
    # Two unit-variance-ish Gaussians 2 sigma apart: EER = Phi(-1) ~ 0.159, threshold at the midpoint
    assert eer == pytest.approx(0.159, abs=0.02)
    assert thr == pytest.approx(0.5, abs=0.02)
    m = binary_metrics(y, p, threshold=thr)
    assert 1 - m["recall"] == pytest.approx(eer, abs=0.01)


def test_single_class() -> None:
    m = binary_metrics(np.array([1, 1, 1]), np.array([0.2, 0.7, 0.9]), threshold=0.5)
    assert m["auc"] is None and m["eer"] is None and m["eer_threshold"] is None
    assert m["confusion_matrix"] == [[0, 0], [1, 2]]
    assert np.isfinite(m["log_loss"])
    m0 = binary_metrics(np.array([0, 0]), np.array([0.2, 0.7]), threshold=0.5)
    assert m0["auc"] is None and m0["ap"] is None and m0["precision"] == 0.0
    json.dumps(m0)
    with pytest.raises(ValueError):
        choose_threshold(np.array([0, 0]), np.array([0.2, 0.7]), "eer")


def test_choose_threshold() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.8, 0.9])
    assert choose_threshold(y, p, "f1") == pytest.approx(0.8)
    assert choose_threshold(y, p, "eer") == pytest.approx(0.8)
    # best F1 on the hand case: threshold 0.35 -> tp=2, fp=1 -> f1 0.8 (vs 2/3 at 0.8)
    assert choose_threshold(LABELS, PROBS, "f1") == pytest.approx(0.35)
    with pytest.raises(ValueError):
        choose_threshold(y, p, "bogus")  # type: ignore[arg-type]


def test_fpr5_threshold_flags_at_most_one_real_in_twenty() -> None:
    rng = np.random.default_rng(0)
    reals, fakes = rng.uniform(0.0, 0.8, 200), rng.uniform(0.3, 1.0, 50)  # overlapping: EER flags many
    y = np.r_[np.zeros(200, int), np.ones(50, int)]
    p = np.r_[reals, fakes]
    cut = choose_threshold(y, p, "fpr5")
    assert (reals >= cut).sum() == 10  # floor(5 % of 200): the 10 most fake-looking reals, no more
    assert (reals >= choose_threshold(y, p, "eer")).mean() > 0.2  # what the rule is for
    assert choose_threshold(np.array([0, 1]), np.array([0.4, 0.9]), "fpr5") > 0.4  # one real: not flagged


def test_log_loss_is_clipped_binary_cross_entropy() -> None:
    assert log_loss(LABELS, PROBS) == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))
    assert log_loss(np.array([1, 0]), np.array([0.0, 1.0])) == pytest.approx(-np.log(1e-6))  # finite


def test_per_group_metrics() -> None:
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.2, 0.9, 0.4, 0.6, 0.7])
    out = per_group_metrics(y, p, ["ff", "ff", "dfdc", "dfdc", "celeb"], threshold=0.5)
    assert list(out) == ["celeb", "dfdc", "ff"]
    assert out["ff"]["auc"] == 1.0 and out["ff"]["accuracy"] == 1.0 and out["ff"]["n"] == 2
    assert out["dfdc"]["auc"] == 0.0 and out["dfdc"]["accuracy"] == 0.0
    assert out["dfdc"]["mean_prob"] == pytest.approx(0.5)
    assert out["celeb"]["auc"] is None and out["celeb"]["n_real"] == 0 and out["celeb"]["fpr"] is None
    assert out["celeb"]["tpr"] == 1.0
    with pytest.raises(ValueError):
        per_group_metrics(y, p, ["a"], 0.5)


def test_auc_interval_brackets_the_auc_and_narrows_with_data() -> None:
    rng = np.random.default_rng(1)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.r_[np.zeros(n), np.ones(n)].astype(int)
        return y, rng.normal(y * 1.0, 1.0)  # AUC ~0.76

    y, p = sample(10)
    small = auc_interval(y, p)
    assert small is not None and small[0] < roc_auc_score(y, p) < small[1]
    y, p = sample(1000)
    large = auc_interval(y, p)
    assert large is not None and large[1] - large[0] < (small[1] - small[0]) / 3
    assert large[0] < 0.76 < large[1]
    assert auc_interval(np.zeros(4, int), np.arange(4.0)) is None
    perfect = auc_interval(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert perfect == (1.0, 1.0)


def test_the_paired_interval_reads_both_scores_on_the_same_resampled_videos() -> None:
    """Two readings that differ by one shifted fake: their AUC difference is never negative in any
    resample, which two independent intervals could not show."""
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    base = np.array([0.1, 0.3, 0.5, 0.7, 0.2, 0.4, 0.6, 0.8])
    better = base.copy()
    better[4] = 0.9  # the lowest fake now beats every real
    low, high = auc_interval(labels, better, minus=base)
    assert 0.0 <= low <= high <= 1.0 and high > 0
    assert auc_interval(labels, base, minus=base) == (0.0, 0.0)
