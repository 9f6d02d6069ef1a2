"""The named steps that set a run up from its recipe (`TrainConfig`, train_config.py; `setup_run`): device,
model config, `FaceSpec`, data (split, cache, SBI, samples), optimiser and schedule, loss weighting,
summaries. The result is a `run.Run`."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Settings
from ..faces import FaceSpec
from ..models.checkpoint import load_checkpoint
from ..models.registry import ModelConfig, create_model, default_config, has_pretrained
from .augment import RobustAugment
from .cache import prepare
from .datasets import describe, discover_all
from .records import summarize
from .run import Run, TrainingData, optimiser, weight_average
from .samples import CropJitter, TrackDataset, build_items
from .sampling import expected_positive_rate
from .scoring import ScoringSet
from .splits import grouped_split
from .train_config import TrainConfig
from .xray import XrayHead

__all__ = ["Run", "TrainConfig", "TrainingData", "setup_run"]

log = logging.getLogger(__name__)


def _resume_point(cfg: TrainConfig) -> tuple[TrainConfig, dict | None]:
    if not cfg.resume:
        return dataclasses.replace(cfg, epochs=10 if cfg.epochs is None else cfg.epochs), None
    path = Path(cfg.resume)
    path = path / "last.pt" if path.is_dir() else path
    saved = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain types only
    keep = {k: getattr(cfg, k) for k in ("epochs", "max_minutes", "progress", "threads", "loader_workers")}
    if cfg.epochs is None:  # an interrupted run goes on with its own cosine schedule, step for step
        del keep["epochs"]
    stored = saved["train_config"] | keep | {"resume": str(path), "out": str(path.parent)}
    return TrainConfig(**stored), saved


def _init_from(model: torch.nn.Module, path: str, arch: str) -> None:
    """Fine-tune a finished model (e.g. the bundled one) on a new recipe: weights only, fp16 widened."""
    init = load_checkpoint(path)
    if init.config.arch != arch:
        raise ValueError(f"--init {path} is a {init.config.arch}, not a {arch}")
    model.load_state_dict(init.model.state_dict())
    log.info("initialised from %s (%s)", path, init.model_id)


def _device(cfg: TrainConfig) -> str:
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    return ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device


def _model_config(cfg: TrainConfig, saved: dict | None) -> ModelConfig:
    """The architecture's defaults with this run's input size, window and cache patch size."""
    if saved:
        stored = saved["config"]
        return ModelConfig.from_dict(
            stored if "patch_size" in stored else stored | {"patch_size": cfg.cache_size}
        )
    base = default_config(cfg.arch)
    return dataclasses.replace(
        base,
        input_size=cfg.input_size or base.input_size,
        frames=cfg.frames or base.frames,
        patch_size=cfg.cache_size,
        patch_scale=cfg.cache_scale,
    )


def _face_spec(cfg: TrainConfig, config: ModelConfig) -> FaceSpec:
    """As the server would find and crop faces for this model (Settings), with --cache-frames if given."""
    face = FaceSpec.from_settings(Settings(), config)
    return dataclasses.replace(face, frames=cfg.cache_frames) if cfg.cache_frames else face


def _training_data(cfg: TrainConfig, face: FaceSpec, cache_dir: Path) -> TrainingData:
    """Discover, prepare and split the data (by person when the cache has identity descriptors); decide
    SBI; refuse data a model cannot be trained on."""
    sources = discover_all(cfg.data, cfg.layout)
    val_given = discover_all(cfg.val, cfg.layout) if cfg.val else None
    report = discover_all(cfg.report, cfg.layout) if cfg.report else []
    spec = dataclasses.replace(face.cache_spec(), dlib=cfg.dlib)
    everything = sources + (val_given or []) + report
    records = prepare(everything, cache_dir, spec, cfg.prepare_workers, cfg.progress)
    by_person = records if cfg.dlib else None  # one person, one group: no actor on both sides
    split_seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    train_src, val_src = grouped_split(
        sources, by_person, cfg.val_fraction, split_seed, val_given, cfg.val_match
    )
    if not train_src and val_src:
        raise ValueError(
            f"every one of the {len(val_src)} sources went to validation (DFDC metadata marking them all "
            '"split": "test"/"val", or --val-match matching everything): nothing is left to train on; '
            "give training data without such marks, or the held-out data with --val"
        )
    if cfg.sbi_pairs and not cfg.sbi_only:
        raise ValueError("SBI pairs (--sbi-pairs) are for real-vs-SBI training: add --sbi-only")
    if cfg.sbi_only:
        train_src = [s for s in train_src if s.label == 0]
    has_fakes = any(s.label for s in train_src)
    sbi = cfg.sbi == "on" or cfg.sbi_only or (cfg.sbi == "auto" and not has_fakes)
    p_sbi = cfg.p_sbi if sbi else 0.0
    if not val_src:
        log.warning("no validation set: the checkpoints keep threshold 0.5 and temperature 1 (uncalibrated)")
    val = ScoringSet(val_src, records, cache_dir, face, remember=True)  # scored every epoch
    copies = None
    if val_src and not any(s.label for s in val_src):
        val.add_sbi_copies()
    elif val_src and sbi:  # monitored, not calibrated on: can the model see blending on unseen faces?
        copies = ScoringSet([s for s in val_src if not s.label], dict(records), cache_dir, face, True)
        copies.sources = copies.add_sbi_copies()
    monitor = ScoringSet(report, records, cache_dir, face, remember=True) if report else None
    items = build_items(records, train_src)
    if cfg.sbi_landmarks == 5:  # the comparison run: masks from MTCNN's 5 points only
        items = [dataclasses.replace(it, landmarks68=None) for it in items]
    if not items:
        raise ValueError("no face track in the training data (see the cache's index.jsonl)")
    if not has_fakes and p_sbi == 0:
        raise ValueError("training data has no FAKE sources: add fakes or use --sbi")
    return TrainingData(train_src, val, records, items, sbi, p_sbi, copies, monitor)


def _pos_weight(cfg: TrainConfig, data: TrainingData) -> tuple[float | None, float]:
    """(pos_weight of the BCE, share of FAKE labels the loop will see)."""
    positive = expected_positive_rate(data.items, cfg.oversample, data.p_sbi, cfg.family_weights)
    if cfg.sbi_pairs:
        positive = 0.5  # every draw is a real and its SBI copy
    if cfg.pos_weight == "auto":
        return (1 - positive) / max(positive, 1e-6), positive
    return (None if cfg.pos_weight == "none" else float(cfg.pos_weight)), positive


_NOT_RECIPE = "data val report out cache progress resume threads loader_workers ram_cache_mb".split()


def _summaries(cfg, config, data: TrainingData, cache_dir: Path, device: str, pos_weight, positive):
    """(data summary, recipe) for logs, summary.json and the checkpoint's card."""
    data_summary = {
        "data": [str(Path(d).resolve()) for d in cfg.data],
        "val": [str(Path(d).resolve()) for d in cfg.val] if cfg.val else None,
        "cache": str(cache_dir.resolve()),
        "prepared": summarize(data.records),
        "train": describe(data.train) | {"tracks": len(data.items)},
        "val_set": describe(data.val.sources),
        "report": [str(Path(d).resolve()) for d in cfg.report] if cfg.report else None,
    }
    recipe = dataclasses.asdict(cfg) | {
        "input_size": config.input_size,
        "frames": config.frames,
        "sbi": data.sbi,
        "p_sbi": data.p_sbi,
        "pos_weight": pos_weight,
        "pretrained": cfg.pretrained and has_pretrained(cfg.arch),
        "expected_positive_rate": round(positive, 4),
        "device": device,
    }
    return data_summary, {k: v for k, v in recipe.items() if k not in _NOT_RECIPE}


def setup_run(cfg: TrainConfig) -> Run:
    """Everything a run needs, fresh or resumed: data (split, cache, samples), model, optimiser, state."""
    cfg, saved = _resume_point(cfg)
    if not cfg.out:
        raise ValueError("no output folder (out) given")
    device = _device(cfg)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cfg.cache or out / "cache")
    config = _model_config(cfg, saved)
    face = _face_spec(cfg, config)
    pretrained = cfg.pretrained and has_pretrained(cfg.arch) and not saved and not cfg.init
    model, config = create_model(cfg.arch, config=config, pretrained=pretrained)  # resume/init load their own
    xray_head = XrayHead(model.feature_dim) if cfg.xray else None
    if xray_head is not None and not hasattr(model.cnn, "forward_features"):  # before a long prepare
        raise ValueError(
            f"--xray needs the CNN's feature map, which {cfg.arch} does not expose (a timm one does)"
        )
    data = _training_data(cfg, face, cache_dir)
    if cfg.init and not saved:
        _init_from(model, cfg.init, cfg.arch)
    model.to(device).to(memory_format=torch.channels_last)  # oneDNN's fast layout for the CNN
    low, high = cfg.downscale
    robust = RobustAugment(
        downscale=(low, high),
        p_jpeg=cfg.p_jpeg,
        p_sharpen=cfg.p_sharpen,
        p_erase=cfg.p_erase,
        p_dim=cfg.p_dim,
    )
    augment = robust if cfg.augment else None
    dataset = TrackDataset(
        data.items,
        cache_dir,
        face.crop,
        config.frames,
        data.p_sbi,
        augment,
        cfg.seed,
        cfg.ram_cache_mb,
        jitter=CropJitter((cfg.jitter[0], cfg.jitter[1]), past_picture=cfg.jitter_past_picture)
        if cfg.jitter
        else None,
        family_weights=cfg.family_weights,
        pairs=cfg.sbi_pairs,
        p_frequency=cfg.sbi_p_frequency,
        xray=xray_head is not None,
    )
    if xray_head is not None:
        xray_head.to(device)
        if saved:
            xray_head.load_state_dict(saved["xray_head"])
    optimizer, scheduler = optimiser(cfg, model, len(data.items), xray_head)
    state: dict[str, Any] = {"epoch": 0, "best": None, "best_epoch": None, "bad_epochs": 0, "history": []}
    averaged = weight_average(model, cfg.ema, saved.get("ema") if saved else None)
    if saved:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        log.info("resumed from %s after epoch %d", cfg.resume, state["epoch"])
    elif (out / "metrics.jsonl").exists():
        (out / "metrics.jsonl").unlink()  # a fresh run owns the log

    pos_weight, positive = _pos_weight(cfg, data)
    pw = None if pos_weight is None else torch.tensor(pos_weight, device=device)
    data_summary, recipe = _summaries(cfg, config, data, cache_dir, device, pos_weight, positive)
    log.info(
        "train: %s; val: %s; sbi=%s pos_weight=%s",
        data_summary["train"],
        data_summary["val_set"],
        data.sbi,
        pos_weight,
    )
    run = Run(
        cfg, config, face, model, optimizer, scheduler, dataset, data, device, pw, data_summary, recipe, state
    )
    run.averaged, run.xray_head = averaged, xray_head
    return run
