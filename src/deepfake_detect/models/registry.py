"""Architectures by name, each with the config (preprocessing included) it expects.

>>> model, config = create_model("resnet50_lstm")
>>> config.input_size, config.pooling
(224, 'last')
>>> "resnet18_lstm" in list_models()
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelConfig:
    """Everything serving and training must agree on; stored in every checkpoint we write."""

    arch: str
    input_size: int = 224  # square face crop side
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crop_scale: float = 1.3  # crop side / MTCNN box side
    frames: int = 32  # frames sampled per video in training (serving reads FRAMES_PER_VIDEO)
    pooling: str = "last"  # BiLSTM output used for the track logit: "last" (the seed's) or "mean"
    aggregation: str = "lstm"  # track score: "lstm", "mean_frame" or "confident_frames"
    threshold: float = 0.5  # P(fake) at or above which a video is FAKE
    temperature: float = 1.0  # logits are divided by this before the sigmoid (calibration)
    extra: dict = field(default_factory=dict)  # free-form: training summary, card, ...

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("mean", "std"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


_REGISTRY: dict[str, tuple[Callable[..., nn.Module], ModelConfig]] = {}


def register_model(name: str, **config_defaults) -> Callable:
    """Decorator: `@register_model("x", input_size=160)` on a factory returning an nn.Module."""

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[name] = (factory, ModelConfig(arch=name, **config_defaults))
        return factory

    return wrap


def list_models() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def default_config(name: str) -> ModelConfig:
    _ensure_loaded()
    if name not in _REGISTRY:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name][1]


def create_model(name: str, config: ModelConfig | None = None, **overrides) -> tuple[nn.Module, ModelConfig]:
    """Build an untrained model and its config (the registered defaults, updated by `overrides`)."""
    _ensure_loaded()  # load_checkpoint in a fresh process comes here without default_config
    config = config or default_config(name)
    if overrides:
        config = dataclasses.replace(config, **overrides)
    factory = _REGISTRY[name][0]
    return factory(pooling=config.pooling), config


def _ensure_loaded() -> None:
    from . import cnn_lstm  # noqa: F401  (registers the architectures)
