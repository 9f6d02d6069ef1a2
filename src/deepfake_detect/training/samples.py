"""Training samples from the crop cache: one face track -> a window of T crops [T, S, S, 3], with its label.

Order of operations per sample, all with one parameter draw per track so the sequence stays coherent:
window of T consecutive patches -> (real tracks, probability p_sbi) Self-Blended Image on every patch with
the same seed, at the patch's resolution, as a real blend happens at the frame's -> the model's crop, cut
from the patch exactly as serving cuts it (`faces.crop.crops_from_patches`) -> `augment_sequence`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, WeightedRandomSampler

from ..faces import CropSpec
from ..faces.crop import crops_from_patches
from .augment import RobustAugment, augment_sequence
from .cache import load_track
from .datasets import Source
from .records import CacheRecord
from .sbi import self_blend


@dataclass(frozen=True)
class TrackItem:
    key: str  # the source's key (path); several tracks can share one
    label: int  # the source's label: 1 = FAKE
    origin: str
    track_id: int
    file: str  # PNG strip of patches, relative to the cache folder
    landmarks: np.ndarray  # [T, 5, 2] float32, patch pixels

    def __len__(self) -> int:
        return len(self.landmarks)


def build_items(records: dict[str, CacheRecord], sources: list[Source]) -> list[TrackItem]:
    """Every cached face track of `sources`, labelled by its source (the data's label, not the cache's)."""
    return [
        TrackItem(s.key, s.label, s.origin, t.track_id, t.file, t.landmarks)
        for s in sources
        for t in records[s.key].tracks
    ]


def blend_track(crops: np.ndarray, landmarks: np.ndarray, seed: int) -> np.ndarray | None:
    """SBI pseudo-fake of a whole track: one Generator seed per frame, so the colour/frequency/mask draw
    is the same on every frame while the mask follows each frame's landmarks. None if the face leaves
    the crop."""
    if len(crops) != len(landmarks):
        raise ValueError(f"{len(crops)} crops but {len(landmarks)} landmark sets")
    try:
        pairs = zip(crops, landmarks, strict=False)
        return np.stack([self_blend(c, lm, np.random.default_rng(seed))[0] for c, lm in pairs])
    except ValueError:
        return None


SBI_SUFFIX = "#sbi"  # key suffix of a real source's SBI copy, scored as a fake in validation


def sbi_copies(reals: list[Source], records: dict[str, CacheRecord]) -> list[Source]:
    """A FAKE copy of each real source, its tracks to be blended by `sbi_copy_crops`; `records` gains
    their entries. Makes an AUC measurable on reals alone: can the model see blending on unseen faces?"""
    copies = []
    for s in reals:
        if s.label:
            continue
        copy = dataclasses.replace(s, path=s.key + SBI_SUFFIX, label=1, origin=s.origin + SBI_SUFFIX)
        copies.append(copy)
        records[copy.key] = dataclasses.replace(records[s.key], source=copy)
    return copies


def sbi_copy_crops(crops: np.ndarray, item: TrackItem) -> np.ndarray:
    """The patches to score for `item`: blended reproducibly (seeded by key and track) if it is an SBI
    copy; unchanged otherwise, or when the face leaves the patch (the pair stays honest)."""
    if not item.key.endswith(SBI_SUFFIX):
        return crops
    seed = int(hashlib.sha1(f"{item.key}:{item.track_id}".encode()).hexdigest()[:8], 16)
    blended = blend_track(crops, item.landmarks, seed)
    return crops if blended is None else blended


class TrackDataset(Dataset):
    """Random windows of cached tracks with SBI and augmentation; deterministic in (seed, epoch, index)."""

    def __init__(
        self,
        items: list[TrackItem],
        cache_dir: str | Path,
        crop: CropSpec,
        frames: int,
        p_sbi: float = 0.0,
        augment: RobustAugment | None = None,
        seed: int = 0,
        ram_cache_mb: float = 2048,
    ):
        self.items = items
        self.cache_dir = Path(cache_dir)
        self.crop = crop  # the model's crop geometry: patches in the cache, crops out
        self.frames = frames
        self.p_sbi = p_sbi
        self.p_sbi_items = sbi_probabilities(items, p_sbi)  # [N]
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        # Decoded strips are kept while they fit: PNG decoding would otherwise run every epoch.
        self._ram: dict[int, np.ndarray] = {}
        self._ram_left = int(ram_cache_mb * 2**20)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def crops(self, i: int) -> np.ndarray:
        """All patches of item i: [T, P, P, 3] uint8."""
        if i in self._ram:
            return self._ram[i]
        crops = load_track(self.cache_dir, self.items[i], self.crop.patch_size)
        if crops.nbytes <= self._ram_left:
            self._ram[i], self._ram_left = crops, self._ram_left - crops.nbytes
        return crops

    def __getitem__(self, i: int) -> tuple[torch.Tensor, float, int]:
        item = self.items[i]
        rng = np.random.default_rng([self.seed, self.epoch, i])
        crops, landmarks = self.crops(i), item.landmarks
        n = len(crops)
        if n == 1:  # a photo: a still "clip" of T identical frames
            crops, landmarks = np.repeat(crops, self.frames, 0), np.repeat(landmarks, self.frames, 0)
        elif n > self.frames:
            start = int(rng.integers(0, n - self.frames + 1))
            crops, landmarks = crops[start : start + self.frames], landmarks[start : start + self.frames]
        label = item.label
        if label == 0 and self.p_sbi_items[i] > 0 and rng.random() < self.p_sbi_items[i]:
            blended = blend_track(crops, landmarks, int(rng.integers(2**31)))
            if blended is not None:
                crops, label = blended, 1
        frames = crops_from_patches(crops, self.crop)  # [T, s, s, 3], as serving crops them
        if self.augment is not None:
            frames = np.stack(augment_sequence(list(frames), rng, self.augment))
        return torch.from_numpy(np.ascontiguousarray(frames)), float(label), i


def collate(batch: list[tuple[torch.Tensor, float, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack samples, cutting every sequence to the batch's shortest (tracks can be shorter than T).

    Returns x [B, T, S, S, 3] uint8, labels [B] float32, indices [B] int64.
    """
    t = min(x.shape[0] for x, _, _ in batch)
    x = torch.stack([x[:t] for x, _, _ in batch])
    return x, torch.tensor([y for _, y, _ in batch]), torch.tensor([i for _, _, i in batch])


def sampling_cells(items: list[TrackItem]) -> list[str]:
    """The balancing cell of each item: (data family, label), where a family is the origin's top folder
    (``timit``, ``dfdc_train_part_0``) if it holds both labels; families with one label share a pool.

    Fakes often come from one family only (TIMIT), reals from many (photos, videos): balancing cells
    rather than labels keeps "this family means fake" from being the easiest thing to learn.
    """
    family = [it.origin.split("/")[0] for it in items]
    labels_of: dict[str, set[int]] = {}
    for f, it in zip(family, items, strict=True):
        labels_of.setdefault(f, set()).add(it.label)
    return [
        f"{f if len(labels_of[f]) == 2 else 'pool'}:{it.label}" for f, it in zip(family, items, strict=True)
    ]


def sampling_weights(items: list[TrackItem], oversample: bool = True) -> np.ndarray:
    """Probability of drawing each item: equal per cell (`sampling_cells`) with oversampling, else uniform."""
    if not oversample:
        return np.full(len(items), 1.0 / len(items))
    cells = sampling_cells(items)
    counts = Counter(cells)
    weights = np.array([1.0 / (len(counts) * counts[c]) for c in cells])
    return weights / weights.sum()


def sbi_probabilities(items: list[TrackItem], p_sbi: float) -> np.ndarray:
    """Per item: the chance that a real track becomes an SBI pseudo-fake. When some family has real
    fakes, reals of the families without get at least 0.5, so inside those SBI balances the classes;
    with no family mixed (SBI-only data) every real gets `p_sbi`. Fakes are never blended."""
    if p_sbi <= 0:
        return np.zeros(len(items))
    pooled = [c.startswith("pool:") for c in sampling_cells(items)]
    floor = 0.5 if not all(pooled) else p_sbi
    p_real = [max(p_sbi, floor) if pool else p_sbi for pool in pooled]
    return np.array([0.0 if it.label else p for it, p in zip(items, p_real, strict=True)])


def class_balanced_sampler(items: list[TrackItem], seed: int) -> WeightedRandomSampler:
    """Oversampling: each cell of `sampling_cells` (family x label) equally likely; len(items) draws.
    With one family this is plain class balance: REAL and FAKE each drawn with probability 1/2."""
    gen = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(sampling_weights(items).tolist(), len(items), True, gen)


def expected_positive_rate(items: list[TrackItem], oversample: bool, p_sbi: float) -> float:
    """Share of FAKE labels the training loop will see: real fakes plus real tracks turned into SBI."""
    labels = np.array([it.label for it in items])
    p_fake = np.where(labels == 1, 1.0, sbi_probabilities(items, p_sbi))
    return float(np.dot(sampling_weights(items, oversample), p_fake))
