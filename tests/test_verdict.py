"""verdict.py: the one place that turns track scores into a video's P(fake) and label."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_detect.models import default_config
from deepfake_detect.verdict import (
    ScoringRule,
    TrackScore,
    decide,
    judged_tracks,
    sigmoid,
    track_logit,
    video_logit,
)


def test_sigmoid_is_stable_and_keeps_the_type() -> None:
    assert sigmoid(0.0) == 0.5 and isinstance(sigmoid(0.0), float)
    with np.errstate(over="raise"):  # no overflow at extreme logits
        assert sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]
    assert sigmoid(2.0, temperature=2.0) == pytest.approx(1 / (1 + np.exp(-1.0)))
    with pytest.raises(ValueError):
        sigmoid(1.0, temperature=0.0)


def test_aggregation_rules() -> None:
    frames = np.array([4.0, 4.0, 4.0, -4.0])
    assert track_logit(-1.0, frames, "lstm") == -1.0
    assert track_logit(-1.0, frames, "mean_frame") == 2.0
    assert track_logit(-1.0, frames, "confident_frames") == 4.0  # 3 of 4 frames confidently fake
    assert track_logit(0.0, np.full(10, -3.0), "confident_frames") == -3.0  # all confidently real
    with pytest.raises(ValueError, match="unknown aggregation"):
        track_logit(0.0, frames, "median")


def test_one_fake_face_makes_a_fake_video() -> None:
    tracks = [TrackScore(-3.0, np.zeros(4)), TrackScore(1.5, np.zeros(4)), TrackScore(1.5, np.ones(4))]
    assert video_logit(tracks) == 1.5 and video_logit([]) is None
    verdict = ScoringRule("lstm", temperature=1.0, threshold=0.5).judge(tracks)
    assert verdict.label == "FAKE" and verdict.track == 1  # the first of equal tracks decides
    assert verdict.fake_probability == pytest.approx(sigmoid(1.5)) == verdict.confidence
    assert verdict.logit == 1.5


def test_threshold_and_temperature_decide() -> None:
    tracks = [TrackScore(1.0, np.zeros(2))]
    calm = ScoringRule("lstm", temperature=4.0, threshold=0.6).judge(tracks)
    assert calm.fake_probability == pytest.approx(sigmoid(0.25)) and calm.label == "REAL"
    assert calm.confidence == pytest.approx(1 - calm.fake_probability)
    assert decide(0.6, 0.6) == ("FAKE", 0.6)  # at the threshold: FAKE


def test_no_face_is_its_own_verdict() -> None:
    verdict = ScoringRule().judge([])
    assert (verdict.label, verdict.fake_probability, verdict.confidence, verdict.track) == (
        "NO_FACE",
        None,
        None,
        None,
    )
    assert ScoringRule().video_probability([]) is None


def test_rule_of_a_model_config_and_an_explicit_threshold() -> None:
    config = default_config("resnet18_lstm")
    assert ScoringRule.of(config) == ScoringRule(config.aggregation, config.temperature, config.threshold)
    assert ScoringRule.of(config, threshold=0.9).threshold == 0.9
    assert ScoringRule.of(config, threshold=0.0).threshold == 0.0  # 0 is a threshold, not "unset"


def test_a_briefly_seen_face_does_not_decide() -> None:
    # The longest track has 32 crops: a track needs 8 (MIN_TRACK_SHARE) to decide. The 3-crop track
    # looks most fake but is only reported; the 8-crop one decides.
    tracks = [
        TrackScore(-2.0, np.zeros(32)),
        TrackScore(5.0, np.zeros(3)),
        TrackScore(0.5, np.zeros(8)),
    ]
    assert judged_tracks(tracks) == [0, 2]
    assert video_logit(tracks) == 0.5
    verdict = ScoringRule("lstm", temperature=1.0, threshold=0.5).judge(tracks)
    assert verdict.track == 2 and verdict.label == "FAKE"
    # On its own, a short track is the longest one and decides.
    assert video_logit([TrackScore(5.0, np.zeros(3))]) == 5.0
