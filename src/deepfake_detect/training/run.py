"""The state of a training run (`Run`): its data, model, optimiser, loaders and resumable state, as
`recipe.setup_run` builds it from a `TrainConfig`."""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..faces import FaceSpec
from ..models.cnn_lstm import CnnLstm
from ..models.registry import ModelConfig
from .cache import WORKER_START
from .datasets import Source
from .records import CacheRecord
from .samples import TrackDataset, TrackItem, collate
from .sampling import class_balanced_sampler
from .scoring import ScoringSet
from .xray import XrayHead, XrayTerm

if TYPE_CHECKING:
    from .recipe import TrainConfig


# A stuck loader worker becomes an error that `--resume` recovers from, instead of a silent stall.
LOADER_TIMEOUT_S = 600.0


def _one_thread(_: int) -> None:
    """A loader worker is one process per core: OpenCV's own thread pool would only oversubscribe it."""
    cv2.setNumThreads(1)


@dataclass
class TrainingData:
    """The sources of a run, split, prepared in the cache, as training samples and a validation set."""

    train: list[Source]
    val: ScoringSet  # val sources (plus SBI copies of reals when val has no fake) and their crops
    records: dict[str, CacheRecord]
    items: list[TrackItem]  # every cached face track of `train`
    sbi: bool
    p_sbi: float  # share of real tracks blended into SBI pseudo-fakes (0 when SBI is off)
    sbi_copies: ScoringSet | None = None  # SBI copies of the val reals, monitored when val has fakes
    report: ScoringSet | None = None  # `--report` data: scored every epoch for the log, never fitted


@dataclass
class Run:
    cfg: TrainConfig
    config: ModelConfig
    face: FaceSpec  # frames, detection and crop geometry: the cache's patches, the model's crops
    model: CnnLstm
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    dataset: TrackDataset
    data: TrainingData
    device: str
    pos_weight: torch.Tensor | None
    data_summary: dict
    recipe: dict
    state: dict = field(default_factory=dict)
    averaged: AveragedModel | None = None  # the moving average of the weights, with `--ema`
    xray_head: XrayHead | None = None  # the boundary head of `--xray` (xray.py); never in a checkpoint

    @property
    def val_sources(self) -> list[Source]:
        return self.data.val.sources

    def loader(self, epoch: int) -> torch.utils.data.DataLoader:
        self.dataset.set_epoch(epoch)
        seed = self.cfg.seed * 1000 + epoch
        sampler: torch.utils.data.Sampler
        if self.cfg.oversample:
            sampler = class_balanced_sampler(self.dataset.items, seed, self.dataset.weights)
        else:
            sampler = torch.utils.data.RandomSampler(
                self.dataset, generator=torch.Generator().manual_seed(seed)
            )
        workers = self.cfg.loader_workers
        return torch.utils.data.DataLoader(
            self.dataset,
            self.cfg.batch_size,
            sampler=sampler,
            collate_fn=functools.partial(collate, frames=self.config.frames),
            num_workers=workers,
            worker_init_fn=_one_thread if workers else None,
            multiprocessing_context=WORKER_START if workers else None,  # spawned: ~3 s per epoch
            timeout=LOADER_TIMEOUT_S if workers else 0,
        )

    def prep(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Crops [N, s, s, 3] uint8, steps [B, T], labels [B] -> normalised channels-last crops
        [N, 3, s, s], steps and float labels, on the device."""
        x, steps, y, _, _ = batch
        x = self.config.normalize(x.to(self.device))  # uint8 travels: a quarter of float32's bytes
        x = x.contiguous(memory_format=torch.channels_last)
        return x, steps.to(self.device), y.float().to(self.device)

    def xray(self, batch) -> XrayTerm | None:
        """The batch's Face X-ray term (head, weight, boundaries [N, s, s], known [N]), None when off."""
        targets = batch[4]
        if self.xray_head is None or targets is None:
            return None
        boundary, known = targets
        return XrayTerm(self.xray_head, self.cfg.xray, boundary.to(self.device), known.to(self.device))

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
            }
            | ({"ema": self.averaged.state_dict()} if self.averaged is not None else {})
            | ({"xray_head": self.xray_head.state_dict()} if self.xray_head is not None else {}),
            tmp,
        )
        tmp.replace(path)


def weight_average(model: CnnLstm, decay: float, saved: dict | None = None) -> AveragedModel | None:
    """An exponential moving average of `model`'s weights and BatchNorm statistics (None for decay 0).
    Why: an average of the weights along the trajectory sits in a flatter region than the last step, which
    is what generalises across domains in the literature (SWAD, Cha et al. 2021); with ~480 steps per epoch
    a decay of 0.998 averages about the last epoch. Measured here (run P, docs/training.md): SBI-copies
    AUC 0.761 -> 0.854 at epoch 2, but dev ranked lower (0.579 against 0.648), so it is off by default."""
    if not decay:
        return None
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    if saved is not None:  # resuming: the average so far
        averaged.load_state_dict(saved)
    return averaged


def train_mode(model: CnnLstm, freeze_bn: bool) -> None:
    """`model.train()`, with the CNN trunk's BatchNorm layers left in eval mode when `freeze_bn`: they
    normalise by the running statistics the run started from (ImageNet's; an `--init` checkpoint's), never
    by the batch, and never update them (their scale and shift still train). Two reasons: a batch of SBI
    pairs holds each real beside its own blended copy, so batch statistics let one crop's features depend on
    its pair's, which serving never sees; and statistics re-fitted to the training faces narrow the features
    to them (run AE of docs/training.md)."""
    model.train()
    if freeze_bn:
        for m in model.cnn.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()


def optimiser(cfg: TrainConfig, model: CnnLstm, n_items: int, head: XrayHead | None = None):
    """AdamW (the CNN trunk at `backbone_lr_scale` x lr; `head`, the `--xray` head, a group of its own), a
    linear warm-up over `warmup_fraction` of the steps, then cosine decay to 1 %."""
    assert cfg.epochs is not None, "set by _resume_point"
    steps = cfg.epochs * math.ceil(n_items / cfg.batch_size)
    warm = max(1, int(cfg.warmup_fraction * steps))
    params: Any = model.parameters()
    if cfg.backbone_lr_scale != 1.0:  # two groups only when asked: 1.0 keeps older runs bit for bit
        trunk = set(map(id, model.cnn.parameters()))
        rest = [p for p in model.parameters() if id(p) not in trunk]  # first: the lr the log shows
        params = [{"params": rest}, {"params": model.cnn.parameters(), "lr": cfg.lr * cfg.backbone_lr_scale}]
    if head is not None:  # appended: the groups before it stay as they were
        groups = params if isinstance(params, list) else [{"params": params}]
        params = [*groups, {"params": head.parameters()}]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def schedule(step: int) -> float:  # multiplier of lr
        if step < warm:
            return (step + 1) / warm
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, steps - warm))))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
