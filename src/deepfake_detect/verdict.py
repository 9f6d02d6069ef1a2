"""Verdict stage: track scores from frame evidence, calibration, and the video's decision.

One fake face makes a fake video, so the video's probability is the highest track probability.
The same functions serve the API, the CLI and evaluation, so the numbers always agree.
"""

from __future__ import annotations

import numpy as np

AGGREGATIONS = ("lstm", "mean_frame", "confident_frames")


def sigmoid(x: float | np.ndarray, temperature: float = 1.0) -> float | np.ndarray:
    """Calibrated probability: sigmoid(logit / temperature)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64) / temperature))


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


def decide(probability: float, threshold: float) -> tuple[str, float]:
    """(label, confidence) where confidence is the probability of the returned label."""
    if probability >= threshold:
        return "FAKE", probability
    return "REAL", 1.0 - probability


def video_logit(tracks: list[tuple[float, np.ndarray]], rule: str = "lstm") -> float | None:
    """The video's logit from its scored face tracks ((BiLSTM logit, per-frame logits [T]) each):
    the highest `track_logit` (one fake face makes a fake video); None when there is no face track.
    Its probability is `sigmoid(video_logit, temperature)`, as `pipeline.Detector` reports it.

    >>> video_logit([(0.5, np.zeros(3)), (-2.0, np.zeros(3))])
    0.5
    """
    if not tracks:
        return None
    return max(track_logit(lstm, frames, rule) for lstm, frames in tracks)
