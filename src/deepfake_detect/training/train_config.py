"""`TrainConfig`: a training run's recipe, the one dataclass the CLI, `setup_run` and `--resume` share."""

from __future__ import annotations

from dataclasses import dataclass

from .augment import RobustAugment


@dataclass
class TrainConfig:
    """Every knob of a training run (most are `deepfake-detect train` flags, train_cli.py), stored in the
    run's `last.pt` for `--resume` and, less the bookkeeping ones, in the checkpoint's recipe."""

    data: list[str]
    out: str
    arch: str = "resnet18_lstm"
    epochs: int | None = None  # None: 10 for a new run; on resume, the run's own schedule
    batch_size: int = 8  # face tracks per step
    frames: int | None = None  # T crops per training window (default: the architecture's `frames`)
    input_size: int | None = None  # default: the architecture's
    lr: float = 1e-3
    backbone_lr_scale: float = 1.0  # the CNN trunk's lr = lr * this (< 1: ImageNet features drift less)
    freeze_bn: bool = False  # the trunk's BatchNorm keeps ImageNet's statistics (run.train_mode)
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05  # of all steps, linear warm-up before the cosine decay
    val: list[str] | None = None  # explicit validation data; else a grouped split of `data`
    report: list[str] | None = None  # data scored every epoch for the log only (cross-dataset dev sets)
    val_fraction: float = 0.2
    val_match: list[str] | None = None  # path globs whose groups are held out for val (plus the fraction)
    layout: str = "auto"
    cache: str | None = None  # default: <out>/cache
    cache_frames: int | None = None  # frames sampled per video into the cache (default FRAMES_PER_VIDEO, 32)
    cache_size: int = 224  # side of the face patches in the cache; the model's crops are cut from them
    cache_scale: float | None = None  # patch side / face box side (default: the model's crop_scale)
    dlib: bool = False  # cache 68 landmarks (SBI masks) and identity descriptors (person-disjoint split)
    prepare_workers: int = 2
    sbi: str = "auto"  # "auto" (on when training has no fakes), "on", "off"
    sbi_only: bool = False  # ignore real fakes in training: real vs SBI (val keeps real fakes)
    sbi_pairs: bool = False  # with sbi_only: each real drawn comes with its own SBI copy (samples.py)
    sbi_p_frequency: float = 1.0  # probability of SBI's frequency transform (sbi.self_blend; paper: 1)
    p_sbi: float = 0.5  # share of real tracks turned into SBI pseudo-fakes when SBI is on (sampling.py)
    pretrained: bool = True  # start from the backbone's ImageNet weights when the architecture has them
    init: str | None = None  # start from this checkpoint's weights (same arch); fresh optimiser and schedule
    sbi_landmarks: int = 68  # SBI masks from dlib's 68 points (when cached) or MTCNN's 5
    jitter: tuple[float, float] | None = None  # training crop scale range, e.g. (0.8, 1.6); None: serving's
    jitter_past_picture: bool = False  # jitter scale not limited to the picture: black beyond (samples.py)
    family_weights: dict[str, float] | None = None  # relative draw rate per data family (sampling.py)
    pos_weight: str = "auto"  # "auto" (negatives/positives as the loop sees them), "none", or a number
    oversample: bool = True  # draw REAL and FAKE sources with equal probability
    augment: bool = True
    downscale: tuple[float, float] = RobustAugment.downscale  # the augmentation's shrink-and-restore range
    p_jpeg: float | None = None  # probability of the augmentation's JPEG re-encode (None: as every step's)
    p_sharpen: float = 0.0  # probability of sharpening the whole crop (augment.py; 0: no draw, run W)
    p_erase: float = 0.0  # probability of painting a rectangle of the crop grey (augment.py; run AH)
    p_dim: float = 0.0  # probability of low light: gamma 1-2, gain 0.5-1, sensor noise (augment.py)
    frame_loss_weight: float = 0.5
    label_smoothing: float = 0.0  # BCE targets eps/2 and 1 - eps/2: certainty stops paying (run AG)
    xray: float = 0.0  # weight of a Face X-ray loss on the feature map (xray.py; 0: off; run AI: 1)
    sam: float = 0.0  # sharpness-aware minimisation's rho (sam.py; SBI paper: 0.05); 0: plain steps
    ema: float = 0.0  # decay of a moving average of the weights, kept beside them as epoch_N_ema (0: off)
    aggregation: str | None = None  # None: pick on val (calibrate.py)
    threshold_rule: str = "eer"
    seed: int = 0
    split_seed: int | None = None  # the people split's seed (None: `seed`); replicates on one split
    patience: int = 5  # early stop after this many epochs without a better val AUC (0: never)
    max_minutes: float | None = None
    threads: int | None = None
    loader_workers: int = 0
    bf16: str = "auto"  # "auto", "on", "off"
    device: str = "auto"
    ram_cache_mb: float = 2048
    resume: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:  # before any cache is built: a typo should not cost a 20-min prepare
        for name in ("p_sbi", "sbi_p_frequency", "p_jpeg", "p_sharpen", "p_erase", "p_dim"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"--{name.replace('_', '-')} must be within 0-1, got {value}")
        if not 0 <= self.label_smoothing < 1:  # 1 would make every target 0.5: nothing left to learn
            raise ValueError(f"--label-smoothing must be within 0-1 (1 excluded), got {self.label_smoothing}")
        if self.xray < 0:
            raise ValueError(f"--xray must be 0 (off) or a positive loss weight, got {self.xray}")
        if self.sam < 0:  # rho is a radius: a negative one would step towards the best nearby weights
            raise ValueError(f"--sam must be 0 (off) or a positive radius, got {self.sam}")
