"""Which training samples are drawn how often, and which real ones become Self-Blended fakes.

The rule: every data family (the origin's top folder: ``timit``, ``dfdc_faces``, ``utkface``) shows REAL
and FAKE equally often, genuine fakes and SBI copies together, and families are drawn by their weights.
A family whose look predicts the label (TIMIT's studio, DFDC's tight framing, UTKFace's chips) would
otherwise be the easiest, and least general, thing to learn.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

if TYPE_CHECKING:
    from .samples import TrackItem


class _FromOrigin(Protocol):
    @property
    def origin(self) -> str: ...  # the source's folder under its data folder: "timit/fake", "frames/DFDC"


def family_of(item: _FromOrigin) -> str:
    """The data family of a training item or a scored video: the origin's top folder (``timit``,
    ``dfdc_faces``, ``utkface``)."""
    return item.origin.split("/")[0]


def sampling_cells(items: list[TrackItem]) -> list[str]:
    """The balancing cell of each item: ``family:label``."""
    return [f"{family_of(it)}:{it.label}" for it in items]


def _family_labels(items: list[TrackItem]) -> dict[str, set[int]]:
    labels: dict[str, set[int]] = {}
    for it in items:
        labels.setdefault(family_of(it), set()).add(it.label)
    return labels


MAX_P_MIXED = 0.45  # reals blended in a family with genuine fakes: below 0.5, so genuine fakes keep a share


def sbi_probabilities(items: list[TrackItem], p_sbi: float) -> np.ndarray:
    """Per item: the chance that a real track becomes an SBI pseudo-fake. Fakes are never blended.

    Families with genuine fakes blend their reals with `p_sbi` (at most `MAX_P_MIXED`); real-only families
    blend half their reals when any family has genuine fakes (inside them REAL and FAKE are then equally
    frequent), else `p_sbi` (SBI-only training)."""
    if p_sbi <= 0:
        return np.zeros(len(items))
    labels = _family_labels(items)
    any_fakes = any(1 in v for v in labels.values())
    p_mixed, p_real_only = min(p_sbi, MAX_P_MIXED), 0.5 if any_fakes else p_sbi
    return np.array(
        [0.0 if it.label else p_mixed if len(labels[family_of(it)]) == 2 else p_real_only for it in items]
    )


def sampling_weights(
    items: list[TrackItem],
    oversample: bool = True,
    family_weights: dict[str, float] | None = None,
    p_sbi: float = 0.0,
) -> np.ndarray:
    """Probability of drawing each item; items are equally likely inside their cell (`sampling_cells`).

    With oversampling each family is drawn in proportion to its weight (`family_weights`, default 1), and
    inside a family with genuine fakes, whose reals are blended with probability p (`sbi_probabilities`),
    the real cell gets 1 / (2 (1 - p)) of the family's draws and the fake cell the rest, so that genuine
    fakes plus SBI copies are exactly half of what the family shows. Why: a family whose look predicts the
    label (TIMIT's studio, DFDC's tight framing) would be the easiest, and least general, thing to learn.
    Without oversampling: uniform."""
    if not oversample:
        return np.full(len(items), 1.0 / len(items))
    labels = _family_labels(items)
    p = min(p_sbi, MAX_P_MIXED) if p_sbi > 0 else 0.0
    real_share = 1 / (2 * (1 - p))  # solves w_real (1 - p) = w_fake + w_real p with w_real + w_fake = 1
    cells = sampling_cells(items)
    counts = Counter(cells)
    weights = []
    for it, cell in zip(items, cells, strict=True):
        family = family_of(it)
        w = (family_weights or {}).get(family, 1.0)
        if len(labels[family]) == 2:
            w *= real_share if it.label == 0 else 1 - real_share
        weights.append(w / counts[cell])
    out = np.asarray(weights, np.float64)
    return out / out.sum()


def class_balanced_sampler(
    items: list[TrackItem], seed: int, weights: np.ndarray | None = None
) -> WeightedRandomSampler:
    """Oversampling by `sampling_weights` (or the `weights` given); len(items) draws per epoch."""
    gen = torch.Generator().manual_seed(seed)
    w = sampling_weights(items) if weights is None else weights
    return WeightedRandomSampler(w.tolist(), len(items), True, gen)


def expected_positive_rate(
    items: list[TrackItem], oversample: bool, p_sbi: float, family_weights: dict[str, float] | None = None
) -> float:
    """Share of FAKE labels the training loop will see: real fakes plus real tracks turned into SBI."""
    labels = np.array([it.label for it in items])
    p_fake = np.where(labels == 1, 1.0, sbi_probabilities(items, p_sbi))
    return float(np.dot(sampling_weights(items, oversample, family_weights, p_sbi), p_fake))
