"""Calibration: aggregation choice, temperature and threshold on validation videos."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepfake_detect.models import ModelConfig, create_model
from deepfake_detect.training.calibrate import (
    apply_calibration,
    calibrate,
    compare_aggregations,
    fit_platt,
    fit_worst_family,
    logit_bias,
    video_logits,
)
from deepfake_detect.training.metrics import log_loss
from deepfake_detect.verdict import sigmoid, video_logit


def _videos(n: int = 400, seed: int = 0) -> tuple[np.ndarray, list]:
    """Videos whose per-frame logits separate the classes (x3 too confident); the BiLSTM output is noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    videos = []
    for y in labels:
        z = rng.normal(2.0 if y else -2.0, 2.0)
        frames = 3 * (z + rng.normal(0, 0.3, 8))
        videos.append([(float(rng.normal()), frames)])
    return labels, videos


def test_video_logit_is_max_over_tracks_by_rule() -> None:
    tracks = [(0.1, np.array([1.0, 3.0])), (-5.0, np.array([-1.0, -1.0]))]
    assert video_logit(tracks, "lstm") == 0.1 and video_logit(tracks, "mean_frame") == 2.0
    assert video_logit([], "lstm") is None
    assert np.isnan(video_logits([[], tracks], "lstm")[0])


def test_calibration_picks_the_measurably_better_rule_and_fits_t() -> None:
    labels, videos = _videos()
    calib = calibrate(labels, videos, "eer")
    assert calib.calibrated and calib.aggregation in ("mean_frame", "confident_frames")
    assert calib.by_aggregation["lstm"]["auc"] < 0.65 < calib.by_aggregation["mean_frame"]["auc"]
    assert 2.0 < calib.temperature < 5.0  # the logits were ~3x too confident
    probs = sigmoid(video_logits(videos, calib.aggregation), calib.temperature)
    pred = probs >= calib.threshold
    fpr, fnr = pred[labels == 0].mean(), 1 - pred[labels == 1].mean()
    assert abs(fpr - fnr) < 0.05  # the EER point


def test_f1_rule_and_fixed_aggregation() -> None:
    labels, videos = _videos(seed=1)
    calib = calibrate(labels, videos, "f1", aggregation="lstm")
    assert calib.aggregation == "lstm" and calib.threshold_rule == "f1" and calib.calibrated


def test_one_class_keeps_defaults_and_no_face_videos_are_ignored() -> None:
    labels, videos = _videos(n=20)
    calib = calibrate(np.zeros(20, int), videos, default_aggregation="mean_frame")
    assert not calib.calibrated and (calib.threshold, calib.temperature, calib.aggregation) == (
        0.5,
        1.0,
        "mean_frame",
    )
    with_gap = calibrate(np.append(labels, 1), [*videos, []])
    assert with_gap.n_videos == 20


def test_apply_calibration_writes_the_config() -> None:
    labels, videos = _videos()
    calib = calibrate(labels, videos)
    config = apply_calibration(ModelConfig(arch="resnet18_lstm", extra={"keep": 1}), calib)
    assert (config.threshold, config.temperature, config.aggregation) == (
        pytest.approx(calib.threshold),
        pytest.approx(calib.temperature),
        calib.aggregation,
    )
    assert config.extra["keep"] == 1 and config.extra["calibration"]["threshold_rule"] == "eer"
    assert set(compare_aggregations(labels, videos)) == {"lstm", "mean_frame", "confident_frames"}


def test_platt_scaling_removes_an_offset() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20000)
    y = (rng.random(z.size) < sigmoid(z)).astype(int)
    t, b = fit_platt(y, 3 * z - 4)  # over-confident and shifted towards REAL
    assert t == pytest.approx(3, rel=0.1) and b == pytest.approx(4, abs=0.3)


def test_calibration_bias_is_folded_into_the_model_and_restored() -> None:
    model, _ = create_model("mobilenetv3_lstm")
    model.eval()
    feats = torch.randn(1, 5, 960)  # [B, T, C]
    before = model.temporal(feats)
    with logit_bias(model, 1.5):
        shifted = model.temporal(feats)
    torch.testing.assert_close(shifted[0], before[0] + 1.5)  # track logit
    torch.testing.assert_close(shifted[1], before[1] + 1.5)  # every frame logit
    torch.testing.assert_close(model.temporal(feats)[1], before[1], rtol=0, atol=0)


def test_platt_temperature_alone_recovers_two() -> None:
    rng = np.random.default_rng(42)
    true_logit = rng.normal(0.0, 2.0, 40_000)
    labels = (rng.random(true_logit.size) < 1 / (1 + np.exp(-true_logit))).astype(int)
    t, bias = fit_platt(labels, true_logit * 2, fit_bias=False)
    assert t == pytest.approx(2.0, abs=0.2) and bias == 0.0
    assert fit_platt(labels, true_logit, fit_bias=False)[0] == pytest.approx(1.0, abs=0.1)


def test_platt_scaling_is_for_even_odds_whatever_the_mix() -> None:
    # 1 fake in 4; scores x ~ N(+1, 1) for FAKE, N(-1, 1) for REAL: the likelihood-ratio logit is 2x.
    # Balanced Platt gives P(fake) = sigmoid(2x) (even odds), not the mix's sigmoid(2x - log 3).
    rng = np.random.default_rng(0)
    labels = (np.arange(40_000) % 4 == 0).astype(int)
    x = rng.normal(np.where(labels == 1, 1.0, -1.0), 1.0)
    t, b = fit_platt(labels, x)
    assert 1 / t == pytest.approx(2.0, rel=0.05) and b == pytest.approx(0.0, abs=0.05)
    noise = rng.normal(0, 1, labels.size)  # an uninformative score reads 0.5, not 0.25
    t, b = fit_platt(labels, noise)
    assert sigmoid(np.median(noise) + b, t) == pytest.approx(0.5, abs=0.02)


def _two_families(rng: np.random.Generator, n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of one spread in two families: "easy" separates the classes well (means +-2), "hard"
    barely (+-0.2), as TIMIT and DFDC do for the bundled model. The pooled fit sizes for their mix."""
    fam = np.repeat(["easy", "hard"], n)
    labels = rng.integers(0, 2, 2 * n)
    mean = np.where(fam == "easy", 2.0, 0.2) * np.where(labels == 1, 1.0, -1.0)
    return labels, 3 * rng.normal(mean, 1.0), fam


def test_worst_family_fit_sizes_probabilities_for_the_weakest_family() -> None:
    labels, z, fam = _two_families(np.random.default_rng(0))
    t_pooled, _ = fit_platt(labels, z)
    t_worst, _ = fit_worst_family(labels, z, fam)
    assert t_worst > 2 * t_pooled  # the hard family's evidence is weak: its probabilities stay near 0.5
    hard = fam == "hard"
    loss_worst, loss_pooled = (log_loss(labels[hard], sigmoid(z[hard], t)) for t in (t_worst, t_pooled))
    assert loss_worst < loss_pooled and loss_worst < np.log(2)


def test_worst_family_needs_two_families_with_both_classes() -> None:
    labels, z, fam = _two_families(np.random.default_rng(1))
    only_real_hard = ~((fam == "hard") & (labels == 1))  # "hard" keeps REAL only: nothing to compare
    got = fit_worst_family(labels[only_real_hard], z[only_real_hard], fam[only_real_hard])
    assert got == pytest.approx(fit_platt(labels[only_real_hard], z[only_real_hard]))


def test_calibrate_by_family_keeps_ranks_and_the_operating_point() -> None:
    labels, videos = _videos()
    fam = np.where(np.arange(len(labels)) % 2 == 0, "a", "b")
    pooled, worst = calibrate(labels, videos, "eer"), calibrate(labels, videos, "eer", families=list(fam))
    assert (pooled.temperature_rule, worst.temperature_rule) == ("pooled", "worst-family")
    flagged = []
    for calib in (pooled, worst):
        z = video_logits(videos, calib.aggregation) + calib.bias
        flagged.append(sigmoid(z, calib.temperature) >= calib.threshold)
    assert (flagged[0] == flagged[1]).mean() > 0.99  # same cut on val, up to the widest-margin midpoint
