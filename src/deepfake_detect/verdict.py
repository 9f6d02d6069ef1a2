"""Verdict stage: from the classifier's scores per face track to the video's P(fake) and label.

Every number a user sees is decided here, once, for the server, `scan`, `evaluate`, `bench --accuracy`
and training's validation alike:

- a track's logit, by the model's aggregation rule (`track_logit`);
- calibrated probabilities, sigmoid(logit / temperature) (`sigmoid`);
- the video: one fake face makes a fake video, so its logit is the highest track logit (`video_logit`)
  among the tracks seen long enough to judge (`judged_tracks`);
- the label: FAKE when P(fake) >= threshold, else REAL; no face track at all is NO_FACE, never judged
  from the full frame (`ScoringRule.judge`).

>>> rule = ScoringRule(aggregation="lstm", temperature=1.0, threshold=0.5)
>>> v = rule.judge([TrackScore(2.0, np.zeros(3)), TrackScore(-1.0, np.zeros(3))])
>>> v.label, round(v.fake_probability, 4), v.logit, v.track
('FAKE', 0.8808, 2.0, 0)
>>> rule.judge([]).label
'NO_FACE'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, overload

import numpy as np

AGGREGATIONS = ("lstm", "mean_frame", "confident_frames")
# A face track decides the video only when it has at least this share of the crops of the video's
# longest track. The maximum over many noisy scores is biased upwards, and a track of 2-4 crops (a
# passer-by, a cut-away, a false detection) is the noisiest: on a real multi-face video a 4-crop track
# of 7 decided (an 11-crop track of 32 deciding the other has enough crops and still decides). Short
# tracks are still scored and reported.
MIN_TRACK_SHARE = 0.25
Label = Literal["REAL", "FAKE", "NO_FACE"]


class TrackScore(NamedTuple):
    """What the classifier says about one face track."""

    logit: float  # the BiLSTM's sequence logit
    frame_logits: np.ndarray  # [T] float32, one per crop of the track


Tracks = Sequence[TrackScore | tuple[float, np.ndarray]]  # one video's scored face tracks


@overload
def sigmoid(x: float, temperature: float = 1.0) -> float: ...
@overload
def sigmoid(x: np.ndarray, temperature: float = 1.0) -> np.ndarray: ...
def sigmoid(x: float | np.ndarray, temperature: float = 1.0) -> float | np.ndarray:
    """Calibrated probability sigmoid(x / temperature), numerically stable; float in, float out.

    >>> sigmoid(0.0), sigmoid(np.array([-1000.0, 1000.0])).tolist()
    (0.5, [0.0, 1.0])
    """
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    z = np.asarray(x, dtype=np.float64) / temperature
    p = np.exp(-np.logaddexp(0.0, -z))
    return float(p) if p.ndim == 0 else p


def track_logit(lstm_logit: float, frame_logits: np.ndarray, rule: str = "lstm") -> float:
    """One logit per face track, by the model's aggregation rule.

    - "lstm": the BiLSTM's sequence output (the seed's design).
    - "mean_frame": mean of per-frame logits.
    - "confident_frames": the DFDC winner's rule: if a good share of frames are confidently fake
      (p > 0.8) average those, else if most are confidently real (p < 0.2) average those, else all.

    >>> track_logit(0.0, np.array([3.0, 3.0, -1.0, 0.0]), "confident_frames")
    3.0
    """
    if rule == "lstm":
        return float(lstm_logit)
    frame_logits = np.asarray(frame_logits, dtype=np.float64)
    if rule == "mean_frame":
        return float(frame_logits.mean())
    if rule == "confident_frames":
        p = sigmoid(frame_logits)
        fake, real = frame_logits[p > 0.8], frame_logits[p < 0.2]
        if len(fake) > max(1, len(p) // 4):  # enough confidently fake frames
            return float(fake.mean())
        if len(real) > 0.9 * len(p):
            return float(real.mean())
        return float(frame_logits.mean())
    raise ValueError(f"unknown aggregation {rule!r}; known: {', '.join(AGGREGATIONS)}")


def judged_tracks(tracks: Tracks) -> list[int]:
    """Indices of the tracks that may decide: at least `MIN_TRACK_SHARE` of the longest track's crops.

    >>> judged_tracks([(0.0, np.zeros(32)), (0.0, np.zeros(8)), (0.0, np.zeros(7))])
    [0, 1]
    """
    return judged_lengths([len(frames) for _, frames in tracks])


def judged_lengths(lengths: Sequence[int]) -> list[int]:
    """`judged_tracks` from the tracks' crop counts alone (what a stored report keeps of them)."""
    if not lengths:
        return []
    enough = MIN_TRACK_SHARE * max(lengths)
    return [i for i, n in enumerate(lengths) if n >= enough]


def video_logit(tracks: Tracks, rule: str = "lstm") -> float | None:
    """The video's logit: the highest `track_logit` of its judged face tracks (one fake face makes a
    fake video); None when there is no face track.

    >>> video_logit([(0.5, np.zeros(8)), (-2.0, np.zeros(8)), (4.0, np.zeros(1))])
    0.5
    """
    if not tracks:
        return None
    return max(track_logit(tracks[i][0], tracks[i][1], rule) for i in judged_tracks(tracks))


def decide(probability: float, threshold: float) -> tuple[Literal["REAL", "FAKE"], float]:
    """(label, confidence) where confidence is the probability of the returned label."""
    if probability >= threshold:
        return "FAKE", probability
    return "REAL", 1.0 - probability


@dataclass(frozen=True)
class Verdict:
    label: Label
    fake_probability: float | None  # calibrated P(fake) of the video; None: NO_FACE
    confidence: float | None  # probability of `label`
    logit: float | None  # the deciding track's logit
    track: int | None  # index of the deciding face track: the most fake-looking judged one


class _Calibrated(Protocol):  # a ModelConfig
    @property
    def aggregation(self) -> str: ...
    @property
    def temperature(self) -> float: ...
    @property
    def threshold(self) -> float: ...


@dataclass(frozen=True)
class ScoringRule:
    """The model's aggregation, temperature and threshold: everything between track scores and a label."""

    aggregation: str = "lstm"
    temperature: float = 1.0
    threshold: float = 0.5

    @classmethod
    def of(cls, config: _Calibrated, threshold: float | None = None) -> ScoringRule:
        """The rule of a `ModelConfig`; `threshold` overrides the model's (PREDICTION_THRESHOLD)."""
        return cls(
            config.aggregation, config.temperature, config.threshold if threshold is None else threshold
        )

    def track_logits(self, tracks: Tracks) -> list[float]:
        return [track_logit(lstm, frames, self.aggregation) for lstm, frames in tracks]

    def video_probability(self, tracks: Tracks) -> float | None:
        """Calibrated P(fake) of a video; None without a face track."""
        z = video_logit(tracks, self.aggregation)
        return None if z is None else sigmoid(z, self.temperature)

    def judge(self, tracks: Tracks) -> Verdict:
        """The video's verdict from its scored face tracks."""
        if not tracks:
            return Verdict("NO_FACE", None, None, None, None)
        logits = self.track_logits(tracks)
        worst = max(judged_tracks(tracks), key=lambda i: logits[i])  # first of equals, like max()
        probability = sigmoid(logits[worst], self.temperature)
        label, confidence = decide(probability, self.threshold)
        return Verdict(label, probability, confidence, logits[worst], worst)
