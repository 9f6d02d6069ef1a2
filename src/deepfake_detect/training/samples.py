"""Training samples from the crop cache: one face track -> a window of crops [t, s, s, 3], with its label.

Order of operations per sample, all with one parameter draw per track so the sequence stays coherent:
window of up to T consecutive patches (a still photo is ONE crop: the CNN runs once and its features are
repeated T times for the BiLSTM, `collate`) -> (real tracks, probability per family) Self-Blended Image
on every patch with the same seed, at the patch's resolution, as a real blend happens at the frame's ->
the model's crop, cut from the patch as serving cuts it (`faces.crop.crop_from_patch`) at a jittered
scale and centre (`CropJitter`) -> one `RobustAugment` draw for the window (as `augment_sequence`).

Why the jitter: the DFDC face crops are tighter than the MTCNN box (a scale of 0.72 at the median, UTKFace
chips 0.76, where serving uses 1.3; docs/training.md, check AC), while photos, videos and frame folders
allow any scale. Drawing the scale from [0.8, 1.6] for every source that has the room (and up to the room
for tight crops, so a chip is read whole and never framed in black) leaves framing no clue to the label.
`CropJitter.past_picture` frames chips in black as served instead: run XF (docs/training.md) found it
lifts DFDC validation and SBI copies, framed the same way, and lowers every whole-frame figure.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..faces import CropSpec
from ..faces.crop import crop_from_patch
from .augment import RobustAugment, apply_params
from .cache import load_track
from .datasets import Source
from .records import CacheRecord
from .sampling import sampling_weights, sbi_probabilities
from .sbi import self_blend
from .xray import boundary_map


@dataclass(frozen=True)
class TrackItem:
    key: str  # the source's key (path); several tracks can share one
    label: int  # the source's label: 1 = FAKE
    origin: str
    track_id: int
    file: str  # PNG strip of patches, relative to the cache folder
    landmarks: np.ndarray  # [T, 5, 2] float32, patch pixels
    landmarks68: np.ndarray | None = None  # [T, 68, 2] float32, patch pixels (caches made with dlib)

    def __len__(self) -> int:
        return len(self.landmarks)

    @property
    def sbi_landmarks(self) -> np.ndarray:
        """The landmarks SBI masks are drawn from: the 68 points when the cache has them."""
        return self.landmarks if self.landmarks68 is None else self.landmarks68


def build_items(records: dict[str, CacheRecord], sources: list[Source]) -> list[TrackItem]:
    """Every cached face track of `sources`, labelled by its source (the data's label, not the cache's)."""
    return [
        TrackItem(s.key, s.label, s.origin, t.track_id, t.file, t.landmarks, t.landmarks68)
        for s in sources
        for t in records[s.key].tracks
    ]


@dataclass(frozen=True)
class CropJitter:
    """Random framing of training crops around the serving rule (module docstring)."""

    scale: tuple[float, float] = (0.8, 1.6)  # crop side / MTCNN box side; serving uses crop_scale (1.3)
    shift: float = 0.05  # centre moved by up to this fraction of the box side, per axis
    # True: the scale is drawn over its whole range for every source and what lies past the picture is
    # black, as serving frames a face at a frame's edge; False: a chip is read whole (module docstring).
    past_picture: bool = False

    def sample(self, rng: np.random.Generator, room: float) -> tuple[float, float, float]:
        """(scale, dx, dy); the scale stays below `room` (how much of the patch shows the frame)."""
        hi = min(self.scale[1], room)
        scale = float(rng.uniform(self.scale[0], hi)) if hi > self.scale[0] else hi
        dx, dy = rng.uniform(-self.shift, self.shift, size=2)
        return scale, float(dx), float(dy)


def valid_box(patch: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the part of a patch that shows the frame, not `crop_patch`'s black padding past
    the frame's edge (a tight crop such as DFDC's is mostly padding in a wide patch)."""
    seen = np.any(patch, axis=2)  # [P, P]
    rows, cols = np.nonzero(seen.any(axis=1))[0], np.nonzero(seen.any(axis=0))[0]
    if not len(rows):
        return 0, 0, patch.shape[1], patch.shape[0]
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def blend_track(
    crops: np.ndarray, landmarks: np.ndarray, seed: int, p_frequency: float = 1.0
) -> tuple[np.ndarray, np.ndarray] | None:
    """SBI pseudo-fake of a whole track: one Generator seed per frame, so the colour/frequency/mask draw
    is the same on every frame while the mask follows each frame's landmarks. None if the face leaves
    the crop. `p_frequency`: see `sbi.self_blend`.
    Returns (blended [t, P, P, 3] uint8, blend masks [t, P, P] float32; 0 on the patch's black padding)."""
    if len(crops) != len(landmarks):
        raise ValueError(f"{len(crops)} crops but {len(landmarks)} landmark sets")
    try:
        pairs = zip(crops, landmarks, strict=False)
        made = [self_blend(c, lm, np.random.default_rng(seed), p_frequency) for c, lm in pairs]
    except ValueError:
        return None
    blended, masks = np.stack([f for f, _ in made]), np.stack([m for _, m in made])
    padding = ~crops.any(axis=3)  # [t, P, P]: not part of the picture, so it stays black and unblended
    blended[padding], masks[padding] = 0, 0
    return blended, masks


Box = tuple[int, int, int, int]  # (x0, y0, x1, y1) in patch pixels
# (crops [t, s, s, 3] uint8, label, dataset index, the crops' blend boundaries [t, s, s] uint8 with
# `xray`: zeros for a real, None where unknown: a genuine fake, or `xray` off)
Sample = tuple[torch.Tensor, float, int, torch.Tensor | None]
XrayTargets = tuple[torch.Tensor, torch.Tensor]  # boundaries [N, s, s] uint8, known [N] bool

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
    blended = blend_track(crops, item.sbi_landmarks, seed)
    return crops if blended is None else blended[0]


class TrackDataset(Dataset):
    """Random windows of cached tracks with SBI, crop jitter and augmentation; deterministic in
    (seed, epoch, index)."""

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
        jitter: CropJitter | None = None,
        family_weights: dict[str, float] | None = None,
        pairs: bool = False,
        p_frequency: float = 1.0,
        xray: bool = False,
    ):
        self.items = items
        self.cache_dir = Path(cache_dir)
        self.crop = crop  # the model's crop geometry: patches in the cache, crops out
        self.frames = frames
        self.p_sbi = p_sbi
        self.p_sbi_items = sbi_probabilities(items, p_sbi)  # [N]
        self.weights = sampling_weights(items, True, family_weights, p_sbi)  # [N] draw probabilities
        self.augment = augment
        self.jitter = jitter
        self.seed = seed
        self.pairs = pairs  # a real that may be blended comes with its SBI copy (`sample_pair`)
        self.p_frequency = p_frequency  # of SBI's frequency transform (`sbi.self_blend`)
        self.xray = xray  # samples carry their blend boundaries (xray.py)
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

    def __getitem__(self, i: int) -> Sample | list[Sample]:
        item = self.items[i]
        rng = np.random.default_rng([self.seed, self.epoch, i])
        patches, landmarks = self.crops(i), item.sbi_landmarks
        if len(patches) > self.frames:
            start = int(rng.integers(0, len(patches) - self.frames + 1))
            patches, landmarks = patches[start : start + self.frames], landmarks[start : start + self.frames]
        inside = valid_box(patches[0])  # before blending, which leaves the padding black anyway
        blendable = item.label == 0 and self.p_sbi_items[i] > 0
        if self.pairs and blendable:
            return self.sample_pair(i, patches, landmarks, inside, rng)
        label, masks = item.label, None
        if blendable and rng.random() < self.p_sbi_items[i]:
            blended = blend_track(patches, landmarks, int(rng.integers(2**31)), self.p_frequency)
            if blended is not None:
                (patches, masks), label = blended, 1
        return self.finish(i, patches, label, rng, inside, masks)

    def sample_pair(
        self, i: int, patches: np.ndarray, landmarks: np.ndarray, inside: Box, rng: np.random.Generator
    ) -> list[Sample]:
        """The real window and its SBI copy, framed and augmented identically (one seed for both), so
        the blend is the only difference between them: the SBI paper's pairs from the same frame. Why:
        drawn apart, the model can lean on who or where a face is; drawn together, it cannot."""
        blended = blend_track(patches, landmarks, int(rng.integers(2**31)), self.p_frequency)
        seed = int(rng.integers(2**31))
        real = self.finish(i, patches, 0, np.random.default_rng(seed), inside)
        if blended is None:  # the face leaves the patch: the real alone
            return [real]
        return [real, self.finish(i, blended[0], 1, np.random.default_rng(seed), inside, blended[1])]

    def finish(
        self,
        i: int,
        patches: np.ndarray,
        label: int,
        rng: np.random.Generator,
        inside: Box,
        masks: np.ndarray | None = None,
    ) -> Sample:
        """Patches [t, P, P, 3] (and an SBI copy's blend masks [t, P, P]) -> (the model's crops [t, s, s, 3],
        framed and augmented; label; i; with `xray`, the crops' boundaries [t, s, s], None if unknown)."""
        view_rng = copy.deepcopy(rng) if self.xray else rng  # boundaries: framed by the crops' own draw
        frames = self.view(patches, rng, inside)  # [t, s, s, 3]
        params = self.augment.sample(rng) if self.augment is not None else None
        if params is not None:
            frames = np.stack([apply_params(f, params) for f in frames])
        boundary = None
        if self.xray and (masks is not None or label == 0):  # a real: no blend; a genuine fake: unknown
            cut = np.zeros(frames.shape[:3], np.uint8)  # [t, s, s]
            if masks is not None:  # cut as the crops were (`view` takes images): same draw, then the flip
                grey = np.repeat(boundary_map(masks)[..., None], 3, axis=3)  # [t, P, P, 3]
                cut = self.view(grey, view_rng, inside)[..., 0]
                cut = cut[:, :, ::-1] if params is not None and params.flip else cut
            boundary = torch.from_numpy(np.ascontiguousarray(cut))
        return torch.from_numpy(np.ascontiguousarray(frames)), float(label), i, boundary

    def view(
        self, patches: np.ndarray, rng: np.random.Generator, inside: tuple[int, int, int, int]
    ) -> np.ndarray:
        """Patches [t, P, P, 3] -> the model's crops [t, s, s, 3]: serving's crop without jitter, else one
        jittered framing for the whole window, kept inside the part of the patch that shows the frame."""
        if self.jitter is None:
            return np.stack([crop_from_patch(p, self.crop) for p in patches])
        if self.jitter.past_picture:  # the whole patch counts, black padding included
            inside = (0, 0, patches.shape[2], patches.shape[1])
        box = patches.shape[1] / self.crop.margin  # MTCNN box side in patch pixels
        room = min(inside[2] - inside[0], inside[3] - inside[1]) / box  # the widest scale that fits
        scale, dx, dy = self.jitter.sample(rng, min(room, self.crop.margin))
        crop = dataclasses.replace(self.crop, scale=scale, patch_scale=self.crop.margin)
        return np.stack([crop_from_patch(p, crop, (dx, dy), inside) for p in patches])


def collate(
    batch: list[Sample | list[Sample]], frames: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, XrayTargets | None]:
    """Samples of t_i crops each -> every crop once, and where each sequence step reads from. A pair
    (`TrackDataset.sample_pair`) counts as two samples, so B can be up to twice the batch size.

    Returns x [sum t_i, s, s, 3] uint8 (the CNN's input: a still photo costs one crop, not T), steps
    [B, T] int64 (row b, step k reads crop offset_b + k mod t_i: stills repeat, short clips loop), labels [B]
    float32, dataset indices [B] int64 and, when some sample carries its blend boundaries (`xray`), those
    of every crop [sum t_i, s, s] uint8 with which are known [sum t_i] bool. T = `frames`, or the longest
    sample of the batch.
    """
    flat = [s for b in batch for s in (b if isinstance(b, list) else [b])]
    lengths = [x.shape[0] for x, *_ in flat]
    t = frames or max(lengths)
    offsets = np.cumsum([0, *lengths[:-1]])
    steps = torch.tensor([[int(o) + k % n for k in range(t)] for o, n in zip(offsets, lengths, strict=True)])
    x = torch.cat([x for x, *_ in flat])
    labels, indices = torch.tensor([s[1] for s in flat]), torch.tensor([s[2] for s in flat])
    if all(s[3] is None for s in flat):
        return x, steps, labels, indices, None
    filled = [torch.zeros(x.shape[:3], dtype=torch.uint8) if b is None else b for x, _, _, b in flat]
    known = torch.cat([torch.full((len(x),), b is not None) for x, _, _, b in flat])
    return x, steps, labels, indices, (torch.cat(filled), known)
