"""Architectures by name, each with the config (preprocessing included) it expects.

Architectures register themselves when their module is imported (`models/__init__.py` imports them
all, as timm does); this module imports none of them.

>>> from deepfake_detect.models import create_model, list_models
>>> model, config = create_model("resnet50_lstm")
>>> config.input_size, config.pooling
(224, 'last')
>>> "resnet18_lstm" in list_models()
True
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .cnn_lstm import CnnLstm  # only a type here: cnn_lstm imports this module to register

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LEGACY_PATCH_SIZE = 224  # every checkpoint trained before patch_size existed cut its crops from 224 px


@dataclass(frozen=True)
class ModelConfig:
    """Everything serving and training must agree on; stored in every checkpoint we write.

    Crop geometry: a square *patch* of side `patch_scale` x the MTCNN box is cut from the full-resolution
    frame and resampled to `patch_size` px (the training cache stores these patches); the model's crop is
    the centre `crop_scale / patch_scale` of the patch, resized to `input_size`. Serving makes the patch
    too, so both sides see the same pixels (`faces/crop.py`).
    """

    arch: str
    input_size: int = 224  # square face crop side fed to the CNN
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crop_scale: float = 1.3  # crop side / MTCNN box side
    patch_size: int = LEGACY_PATCH_SIZE  # side of the face patch every crop is cut from
    patch_scale: float | None = None  # patch side / MTCNN box side; None: crop_scale (no extra margin)
    frames: int = 32  # frames sampled per video in training (serving reads FRAMES_PER_VIDEO)
    pooling: str = "last"  # BiLSTM output used for the track logit: "last" (the seed's) or "mean"
    aggregation: str = "lstm"  # track score: "lstm", "mean_frame" or "confident_frames"
    threshold: float = 0.5  # P(fake) at or above which a video is FAKE
    temperature: float = 1.0  # logits are divided by this before the sigmoid (calibration)
    extra: dict = field(default_factory=dict)  # free-form: training summary, card, ...

    def normalize(self, crops: torch.Tensor) -> torch.Tensor:
        """[..., S, S, 3] uint8 RGB crops -> [..., 3, S, S] float32 normalised: the model's input, for
        serving and training alike. The arithmetic runs on the contiguous [..., S, S, 3] layout and the
        channel axis moves last, as a view (channels-last strides): 4.5x faster than converting the strided
        view (32 crops at 224 px: 5 ms against 23), with bit-identical values."""
        mean = torch.tensor(self.mean, dtype=torch.float32, device=crops.device) * 255.0  # [3]
        std = torch.tensor(self.std, dtype=torch.float32, device=crops.device) * 255.0
        return crops.float().sub_(mean).div_(std).movedim(-1, -3)  # in place: one fresh buffer, not three

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("mean", "std"):
            if key in values:
                values[key] = tuple(values[key])
        recipe = values.get("extra", {}).get("training", {}).get("recipe", {})
        if "patch_size" not in values:  # written before patch_size: the training cache's crop size
            values["patch_size"] = int(recipe.get("cache_size") or LEGACY_PATCH_SIZE)
        if "patch_scale" not in values and recipe.get("cache_scale"):  # ... and the cache's margin
            values["patch_scale"] = float(recipe["cache_scale"])
        return cls(**values)


@dataclass(frozen=True)
class Architecture:
    name: str
    factory: Callable[..., CnnLstm]  # factory(feature_dim=..., pooling=...) -> untrained model
    feature_dim: int  # CNN feature width = the BiLSTM's input width (tells plain .pth files apart)
    defaults: ModelConfig
    seed_recipe: dict[str, Any]  # config overrides for a plain .pth state dict of this architecture


_REGISTRY: dict[str, Architecture] = {}


def register_model(
    name: str, feature_dim: int, seed_recipe: dict[str, Any] | None = None, **config_defaults: Any
) -> Callable:
    """Decorator: `@register_model("x", feature_dim=512, input_size=160)` on a factory taking
    (feature_dim, pooling) and returning a `cnn_lstm.CnnLstm`."""

    def wrap(factory: Callable[..., CnnLstm]) -> Callable[..., CnnLstm]:
        defaults = ModelConfig(arch=name, **config_defaults)
        _REGISTRY[name] = Architecture(name, factory, feature_dim, defaults, seed_recipe or {})
        return factory

    return wrap


def architecture(name: str) -> Architecture:
    if name not in _REGISTRY:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def default_config(name: str) -> ModelConfig:
    return architecture(name).defaults


def seed_config(feature_dim: int) -> ModelConfig | None:
    """The config a plain `.pth` state dict whose BiLSTM reads `feature_dim` features is loaded with
    (registered defaults plus the architecture's `seed_recipe`); None when no architecture has that width."""
    for arch in _REGISTRY.values():
        if arch.feature_dim == feature_dim:
            return dataclasses.replace(arch.defaults, **arch.seed_recipe)
    return None


def has_pretrained(name: str) -> bool:
    """Whether the architecture can start from ImageNet weights: its factory takes `pretrained`."""
    return "pretrained" in inspect.signature(architecture(name).factory).parameters


def create_model(
    name: str, config: ModelConfig | None = None, pretrained: bool = False, **overrides: Any
) -> tuple[CnnLstm, ModelConfig]:
    """Build a model and its config (the registered defaults, updated by `overrides`).

    `pretrained`: start from the backbone's ImageNet weights (training); else the weights are random, to
    be replaced by a checkpoint's."""
    arch = architecture(name)
    # A copy, `extra` included: a caller that fills in its config must not change the registry's defaults.
    config = dataclasses.replace(config or arch.defaults, **overrides)
    config = dataclasses.replace(config, extra=copy.deepcopy(config.extra))
    if not pretrained:
        return arch.factory(feature_dim=arch.feature_dim, pooling=config.pooling), config
    if not has_pretrained(name):
        raise ValueError(f"{name} has no pretrained weights; train it from scratch (pretrained=False)")
    return arch.factory(feature_dim=arch.feature_dim, pooling=config.pooling, pretrained=True), config
