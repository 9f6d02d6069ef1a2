"""Labelled data scored the way the server scores it: checkpoint + data -> split from the recipe -> crop
cache -> per-track scores -> video probabilities. One path for `evaluate`, `bench --accuracy` and the
validation of every training epoch.

Crops come from the cache's patches through `faces.crop.crops_from_patches`, the step serving runs after
cutting the same patch from the frame, so a video's crops here are byte-identical to the server's, and
its P(fake) differs from `scan`'s only by the CNN backend (eager fp32 here, ONNX fp32 in serving: ~1e-5).

>>> data = prepare_scoring(loaded.config, ["data/timit"], split="val")  # doctest: +SKIP
>>> videos = data.score(TrackClassifier(loaded, faces=data.face).score_tracks)  # doctest: +SKIP
>>> video_probabilities(videos, loaded.config)  # [N] P(fake), NaN without a face  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..faces import FaceSpec
from ..faces.crop import crops_from_patches
from ..models.registry import ModelConfig
from ..verdict import ScoringRule, TrackScore
from .cache import load_track, prepare, read_spec
from .datasets import Source, discover_all
from .records import CacheRecord
from .samples import TrackItem, build_items, sbi_copies, sbi_copy_crops
from .splits import grouped_split

log = logging.getLogger(__name__)

ScoreFn = Callable[[list[np.ndarray]], list[TrackScore]]  # crops per track [T_i, S, S, 3] -> scores
SPLITS = ("all", "val", "train")


@dataclass
class VideoScores:
    key: str
    label: int
    origin: str
    tracks: list[TrackScore]  # one per face track; empty: no face
    status: str = "ok"  # cache status: ok / no_face / error


@dataclass
class ScoringSet:
    """Labelled sources, their cache records, and the `FaceSpec` their crops are made with."""

    sources: list[Source]
    records: dict[str, CacheRecord]
    cache_dir: Path
    face: FaceSpec
    remember: bool = False  # keep the crops for the next `score` (a training run's every-epoch sets)
    _kept: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)

    def crops(self, item: TrackItem) -> np.ndarray:
        """A track's crops as the model sees them, [T, S, S, 3] uint8; SBI copies blended reproducibly
        (on the patches, as in training). Why `remember`: blending the val reals' SBI copies costs more
        than scoring them (~10 ms a patch), and they are the same every epoch."""
        key = (item.key, item.track_id)
        if key in self._kept:
            return self._kept[key]
        patches = load_track(self.cache_dir, item, self.face.crop.patch_size)
        crops = crops_from_patches(sbi_copy_crops(patches, item), self.face.crop)
        if self.remember:
            self._kept[key] = crops
        return crops

    def add_sbi_copies(self) -> list[Source]:
        """Add a Self-Blended FAKE copy of every real source (`samples.sbi_copies`); returns the copies."""
        copies = sbi_copies(self.sources, self.records)
        self.sources = self.sources + copies
        return copies

    def score(self, score: ScoreFn, progress: bool = False) -> list[VideoScores]:
        """Score every source's tracks, one video at a time (its crops in one batch, as the server does)."""
        from tqdm import tqdm

        by_key: dict[str, list[TrackItem]] = {}
        for item in build_items(self.records, self.sources):
            by_key.setdefault(item.key, []).append(item)
        out = []
        for s in tqdm(self.sources, desc="scoring", unit="clip", disable=not progress, leave=False):
            items = by_key.get(s.key, [])
            tracks = score([self.crops(it) for it in items]) if items else []
            out.append(VideoScores(s.key, s.label, s.origin, tracks, self.records[s.key].status))
        return out


def video_probabilities(videos: list[VideoScores], config: ModelConfig) -> np.ndarray:
    """[N] calibrated P(fake) per video by the model's rule (verdict.py); NaN without a face track."""
    rule = ScoringRule.of(config)
    probs = [rule.video_probability(v.tracks) for v in videos]
    return np.array([np.nan if p is None else p for p in probs], dtype=np.float64)


def recipe_split(
    sources: list[Source],
    config: ModelConfig,
    split: str = "all",
    val_fraction: float | None = None,
    seed: int | None = None,
    records: dict[str, CacheRecord] | None = None,
) -> list[Source]:
    """One side of the checkpoint's training split ("val" / "train"), by the rule, seed, fraction and
    held-out globs its recipe recorded (unless given); "all": every source. A run that grouped sources by
    person (recipe `dlib`) needs every source's cache `records` to group them the same way."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if split == "all":
        return sources
    recipe = config.extra.get("training", {}).get("recipe")
    if recipe is None:  # guessing would score the model on data it trained on
        raise ValueError(
            f"--split {split}: this checkpoint does not record how it was trained "
            "(no training recipe in it); evaluate held-out data folders instead"
        )
    frac = recipe.get("val_fraction", 0.2) if val_fraction is None else val_fraction
    if seed is None:  # the split's own seed when the run recorded one (a replicate on another's split)
        seed = recipe["split_seed"] if recipe.get("split_seed") is not None else recipe.get("seed", 0)
    if recipe.get("dlib") and records is None:
        raise ValueError(
            "this model's split groups sources by person: pass the cache records (made with dlib)"
        )
    by_person = records if recipe.get("dlib") else None
    train, val = grouped_split(sources, by_person, frac, seed, val_match=recipe.get("val_match"))
    return val if split == "val" else train


def training_folders(config: ModelConfig, root: str | Path = "../shared/data") -> list[str]:
    """The data folders the checkpoint trained on (the ones `--split val` re-scores), found by name under
    `root`: the recorded paths are the training machine's. Empty when the checkpoint records none."""
    trained = config.extra.get("training", {}).get("data", {}).get("data") or []
    return [str(Path(root, Path(d).name)) for d in trained]


def training_cache(config: ModelConfig) -> Path | None:
    """The crop cache the checkpoint was trained from, when it is still there."""
    trained = config.extra.get("training", {}).get("data", {}).get("cache")
    return Path(trained) if trained and Path(trained, "spec.json").is_file() else None


def face_spec_for(cache_dir: Path, config: ModelConfig, settings: Settings | None = None) -> FaceSpec:
    """The `FaceSpec` to score `config`'s model from `cache_dir`: the settings' (as serving), unless the
    cache exists already, which then decides frames and detection (and must hold the model's patches)."""
    face = FaceSpec.from_settings(settings or Settings(), config)
    existing = read_spec(cache_dir)
    if existing is None:
        return face
    from_cache = FaceSpec.from_cache(existing, config)
    if from_cache != face:  # only what changes the crops: dlib's landmarks are extra data, not other pixels
        served = face.cache_spec()
        names = [f.name for f in dataclasses.fields(existing) if f.name != "dlib"]
        differ = [n for n in names if getattr(existing, n) != getattr(served, n)]
        log.warning(
            "cache %s was prepared with %s; serving with the current settings would use %s",
            cache_dir,
            ", ".join(f"{n}={getattr(existing, n)}" for n in differ),
            ", ".join(f"{n}={getattr(served, n)}" for n in differ),
        )
    return from_cache


def prepare_scoring(
    config: ModelConfig,
    data: list[str],
    split: str = "all",
    cache_dir: str | Path | None = None,
    fallback_cache: str | Path | None = None,
    layout: str = "auto",
    val_fraction: float | None = None,
    seed: int | None = None,
    workers: int = 2,
    progress: bool = True,
) -> ScoringSet:
    """Discover `data`, keep `split` of it, and make sure its faces are in the cache: `cache_dir`, else the
    checkpoint's training cache if still there, else `fallback_cache`."""
    sources = discover_all(data, layout)
    folder = cache_dir or training_cache(config) or fallback_cache
    if folder is None:
        raise ValueError("no cache folder: give cache_dir or fallback_cache")
    folder = Path(folder)
    face = face_spec_for(folder, config)
    by_person = config.extra.get("training", {}).get("recipe", {}).get("dlib") and split != "all"
    spec = dataclasses.replace(face.cache_spec(), dlib=bool(by_person))
    records = prepare(sources, folder, spec, workers=workers, progress=progress) if by_person else None
    sources = recipe_split(sources, config, split, val_fraction, seed, records)
    records = prepare(sources, folder, spec, workers=workers, progress=progress)
    return ScoringSet(sources, records, folder, face)
