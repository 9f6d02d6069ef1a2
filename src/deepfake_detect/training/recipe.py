"""The training recipe (`TrainConfig`) and everything set up from it: data, split, cache, samples, model,
optimiser, schedule, and resumable state (`Run`)."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..config import Settings
from ..models.registry import ModelConfig, create_model, default_config
from .augment import RobustAugment
from .cache import CacheSpec, load_track, prepare, summarize
from .datasets import Source, describe, discover_all, split_sources
from .samples import (
    TrackDataset,
    TrackItem,
    build_items,
    class_balanced_sampler,
    collate,
    expected_positive_rate,
    normalize,
    resize_crops,
    sbi_copies,
    sbi_copy_crops,
)

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    data: list[str]
    out: str
    arch: str = "resnet18_lstm"
    epochs: int = 10
    batch_size: int = 8  # face tracks per step
    frames: int | None = None  # T crops per training window (default: the architecture's `frames`)
    input_size: int | None = None  # default: the architecture's
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05  # of all steps, linear warm-up before the cosine decay
    val: list[str] | None = None  # explicit validation data; else a grouped split of `data`
    val_fraction: float = 0.2
    val_match: list[str] | None = None  # path globs whose groups are held out for val (plus the fraction)
    layout: str = "auto"
    cache: str | None = None  # default: <out>/cache
    cache_frames: int | None = None  # frames sampled per video into the cache (default FRAMES_PER_VIDEO, 32)
    cache_size: int = 224
    prepare_workers: int = 2
    sbi: str = "auto"  # "auto" (on when training has no fakes), "on", "off"
    sbi_only: bool = False  # ignore real fakes in training: real vs SBI (val keeps real fakes)
    p_sbi: float = 0.5  # share of real tracks turned into SBI pseudo-fakes when SBI is on
    pos_weight: str = "auto"  # "auto" (negatives/positives as the loop sees them), "none", or a number
    oversample: bool = True  # draw REAL and FAKE sources with equal probability
    augment: bool = True
    frame_loss_weight: float = 0.5
    aggregation: str | None = None  # None: pick on val (calibrate.py)
    threshold_rule: str = "eer"
    seed: int = 0
    patience: int = 5  # early stop after this many epochs without a better val AUC (0: never)
    max_minutes: float | None = None
    threads: int | None = None
    loader_workers: int = 0
    bf16: str = "auto"  # "auto", "on", "off"
    device: str = "auto"
    ram_cache_mb: float = 2048
    resume: str | None = None
    progress: bool = True


@dataclass
class Run:
    cfg: TrainConfig
    config: ModelConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    dataset: TrackDataset
    val_sources: list[Source]
    records: dict[str, dict]
    cache_dir: Path
    spec: CacheSpec
    device: str
    pos_weight: torch.Tensor | None
    data_summary: dict
    recipe: dict
    state: dict = field(default_factory=dict)

    def loader(self, epoch: int) -> torch.utils.data.DataLoader:
        self.dataset.set_epoch(epoch)
        seed = self.cfg.seed * 1000 + epoch
        if self.cfg.oversample:
            sampler = class_balanced_sampler(self.dataset.items, seed)
        else:
            sampler = torch.utils.data.RandomSampler(
                self.dataset, generator=torch.Generator().manual_seed(seed)
            )
        return torch.utils.data.DataLoader(
            self.dataset,
            self.cfg.batch_size,
            sampler=sampler,
            collate_fn=collate,
            num_workers=self.cfg.loader_workers,
        )

    def prep(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 [B, T, S, S, 3], labels [B] -> normalised [B, T, 3, S, S] and float labels on the device."""
        x, y, _ = batch
        return normalize(x, self.config.mean, self.config.std).to(self.device), y.float().to(self.device)

    def val_crops(self, item: TrackItem) -> np.ndarray:
        """A val track's crops at the model's input size ([T, s, s, 3]); SBI copies blended reproducibly."""
        crops = sbi_copy_crops(load_track(self.cache_dir, {"file": item.file}, self.spec.size), item)
        return resize_crops(crops, self.config.input_size)

    def save_state(self) -> None:
        path = Path(self.cfg.out) / "last.pt"
        tmp = path.with_suffix(".tmp")
        torch.save(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "state": self.state,
                "config": self.config.to_dict(),
                "train_config": dataclasses.asdict(self.cfg),
            },
            tmp,
        )
        tmp.replace(path)


def _resume_point(cfg: TrainConfig) -> tuple[TrainConfig, dict | None]:
    if not cfg.resume:
        return cfg, None
    path = Path(cfg.resume)
    path = path / "last.pt" if path.is_dir() else path
    saved = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain types only
    keep = {k: getattr(cfg, k) for k in ("epochs", "max_minutes", "progress", "threads", "loader_workers")}
    stored = saved["train_config"] | keep | {"resume": str(path), "out": str(path.parent)}
    return TrainConfig(**stored), saved


def setup_run(cfg: TrainConfig) -> Run:
    cfg, saved = _resume_point(cfg)
    if not cfg.out:
        raise ValueError("no output folder (out) given")
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cfg.cache or out / "cache")
    spec = CacheSpec.from_settings(Settings(), frames=cfg.cache_frames, size=cfg.cache_size)

    sources = discover_all(cfg.data, cfg.layout)
    val_given = discover_all(cfg.val, cfg.layout) if cfg.val else None
    train_src, val_src = split_sources(sources, cfg.val_fraction, cfg.seed, val_given, cfg.val_match)
    records = prepare(train_src + val_src, cache_dir, spec, cfg.prepare_workers, cfg.progress)
    if cfg.sbi_only:
        train_src = [s for s in train_src if s.label == 0]
    has_fakes = any(s.label for s in train_src)
    sbi = cfg.sbi == "on" or cfg.sbi_only or (cfg.sbi == "auto" and not has_fakes)
    p_sbi = cfg.p_sbi if sbi else 0.0
    if not val_src:
        log.warning("no validation set: the checkpoints keep threshold 0.5 and temperature 1 (uncalibrated)")
    if val_src and not any(s.label for s in val_src):
        val_src = val_src + sbi_copies(val_src, records)
    items = build_items(records, train_src)
    if not items:
        raise ValueError("no face track in the training data (see the cache's index.jsonl)")
    if not has_fakes and p_sbi == 0:
        raise ValueError("training data has no FAKE sources: add fakes or use --sbi")

    base = default_config(cfg.arch)
    config = dataclasses.replace(
        base,
        input_size=cfg.input_size or base.input_size,
        frames=cfg.frames or base.frames,
        crop_scale=spec.scale,
    )
    if saved:
        config = ModelConfig.from_dict(saved["config"])
    model, config = create_model(cfg.arch, config=config)
    model.to(device)
    augment = RobustAugment() if cfg.augment else None
    dataset = TrackDataset(
        items,
        cache_dir,
        spec.size,
        config.input_size,
        config.frames,
        p_sbi,
        augment,
        cfg.seed,
        cfg.ram_cache_mb,
    )
    steps = cfg.epochs * math.ceil(len(items) / cfg.batch_size)
    warm = max(1, int(cfg.warmup_fraction * steps))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def schedule(step: int) -> float:  # multiplier of lr: linear warm-up, then cosine to 1 %
        if step < warm:
            return (step + 1) / warm
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, steps - warm))))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    state = {"epoch": 0, "best": None, "best_epoch": None, "bad_epochs": 0, "history": []}
    if saved:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        log.info("resumed from %s after epoch %d", cfg.resume, state["epoch"])
    elif (out / "metrics.jsonl").exists():
        (out / "metrics.jsonl").unlink()  # a fresh run owns the log

    positive = expected_positive_rate(items, cfg.oversample, p_sbi)
    if cfg.pos_weight == "auto":
        pos_weight = (1 - positive) / max(positive, 1e-6)
    else:
        pos_weight = None if cfg.pos_weight == "none" else float(cfg.pos_weight)
    pw = None if pos_weight is None else torch.tensor(pos_weight, device=device)
    data_summary = {
        "data": [str(Path(d).resolve()) for d in cfg.data],
        "val": [str(Path(d).resolve()) for d in cfg.val] if cfg.val else None,
        "cache": str(cache_dir.resolve()),
        "prepared": summarize(records),
        "train": describe(train_src) | {"tracks": len(items)},
        "val_set": describe(val_src),
    }
    recipe = dataclasses.asdict(cfg) | {
        "input_size": config.input_size,
        "frames": config.frames,
        "sbi": sbi,
        "p_sbi": p_sbi,
        "pos_weight": pos_weight,
        "expected_positive_rate": round(positive, 4),
        "device": device,
    }
    for k in (
        "data",
        "val",
        "out",
        "cache",
        "progress",
        "resume",
        "threads",
        "loader_workers",
        "ram_cache_mb",
    ):
        recipe.pop(k, None)
    log.info(
        "train: %s; val: %s; sbi=%s pos_weight=%s",
        data_summary["train"],
        data_summary["val_set"],
        sbi,
        pos_weight,
    )
    return Run(
        cfg,
        config,
        model,
        optimizer,
        scheduler,
        dataset,
        val_src,
        records,
        cache_dir,
        spec,
        device,
        pw,
        data_summary,
        recipe,
        state,
    )
