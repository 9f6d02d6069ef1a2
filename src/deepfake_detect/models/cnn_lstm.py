"""CNN backbone per face crop + BiLSTM over a face track: the seed's ResNet50+BiLSTM and lighter kin.

Module names (`cnn`, `lstm`, `head`) and layouts match the seed's `ResNet50BiLSTM`, so its
checkpoints load unchanged: `cnn` is the torchvision ResNet's children minus `fc` in an
`nn.Sequential` (keys `cnn.0.weight`, ...), `head` is Linear-ReLU-Dropout-Linear.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torchvision import models as tvm

from .registry import register_model


class CnnLstm(nn.Module):
    def __init__(self, cnn: nn.Module, feature_dim: int, hidden: int = 256, pooling: str = "last"):
        super().__init__()
        if pooling not in ("last", "mean"):
            raise ValueError(f"pooling must be 'last' or 'mean', not {pooling!r}")
        self.pooling = pooling
        self.feature_dim = feature_dim
        self.cnn = cnn
        self.lstm = nn.LSTM(feature_dim, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(
            nn.Linear(hidden * 2, 128), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(128, 1)
        )

    def features(self, crops: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] normalised crops -> [N, C] features."""
        return self.cnn(crops).flatten(1)

    def feature_maps(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[N, 3, H, W] -> (the trunk's last map [N, C, h, w], the same features as `features` [N, C]).
        timm trunks only (EfficientNet-Lite): the Face X-ray loss of `train --xray` reads the map."""
        forward_features = getattr(self.cnn, "forward_features", None)
        if forward_features is None:
            raise ValueError(f"{type(self.cnn).__name__} does not expose its feature map (a timm model does)")
        maps = forward_features(crops)
        return maps, self.cnn.forward_head(maps, pre_logits=True).flatten(1)  # type: ignore[operator]

    def temporal(self, feats: torch.Tensor, window: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, T, C] features -> (track logits [B], per-frame logits [B, T]).

        `window`: read the track in windows of this many steps (e.g. the training length, the config's
        `frames`) instead of as one sequence; the track logit is the mean of the windows'. The last
        window ends on the last step and may overlap the one before (its scores win there). Serving
        reads tracks whole: for the bundled model (trained on 2 steps, served 32) windows of 2 scored
        validation 0.013-0.032 lower (`benchmarks/lstm_window.py`, docs/training.md check U).
        """
        t = feats.shape[1]
        if window is None or window >= t:
            return self._sequence(feats)
        starts = list(range(0, t - window + 1, window))
        if starts[-1] + window < t:
            starts.append(t - window)
        windows = torch.stack([feats[:, s : s + window] for s in starts], dim=1)  # [B, K, W, C]
        track, frames = self._sequence(windows.flatten(0, 1))  # [B*K], [B*K, W]
        track, frames = track.view(len(feats), len(starts)), frames.view(len(feats), len(starts), window)
        owned = [*(b - a for a, b in itertools.pairwise(starts)), window]  # steps each window scores
        frame_logits = torch.cat([frames[:, k, :n] for k, n in enumerate(owned)], dim=1)  # [B, T]
        return track.mean(dim=1), frame_logits

    def _sequence(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, T, C] read as one sequence -> (track logits [B], per-frame logits [B, T])."""
        out, _ = self.lstm(feats)  # [B, T, 2*hidden]
        frame_logits = self.head(out).squeeze(-1)  # [B, T]
        if self.pooling == "last":
            return frame_logits[:, -1], frame_logits
        return self.head(out.mean(dim=1)).squeeze(-1), frame_logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, 3, H, W] -> track logits [B, 1], like the seed's forward."""
        b, t = x.shape[:2]
        feats = self.features(x.flatten(0, 1)).view(b, t, -1)  # [B, T, C]
        return self.temporal(feats)[0].unsqueeze(-1)


def _resnet_trunk(resnet: nn.Module) -> nn.Sequential:
    return nn.Sequential(*list(resnet.children())[:-1])  # drop fc; keeps avgpool -> [N, C, 1, 1]


def _pooled(features: nn.Module) -> nn.Sequential:
    return nn.Sequential(features, nn.AdaptiveAvgPool2d(1))


# The seed's .pth files: ResNet50, last BiLSTM step, 12 frames, crop 1.2x the face box, uncalibrated.
@register_model(
    "resnet50_lstm",
    feature_dim=2048,
    seed_recipe=dict(frames=12, crop_scale=1.2),
    input_size=224,
    pooling="last",
)
def resnet50_lstm(feature_dim: int, pooling: str = "last") -> CnnLstm:
    """The seed's architecture (25.6 M parameters in the CNN)."""
    return CnnLstm(_resnet_trunk(tvm.resnet50(weights=None)), feature_dim, pooling=pooling)


@register_model("resnet18_lstm", feature_dim=512, input_size=160, pooling="mean")
def resnet18_lstm(feature_dim: int, pooling: str = "mean") -> CnnLstm:
    return CnnLstm(_resnet_trunk(tvm.resnet18(weights=None)), feature_dim, pooling=pooling)


@register_model("mobilenetv3_lstm", feature_dim=960, input_size=160, pooling="mean")
def mobilenetv3_lstm(feature_dim: int, pooling: str = "mean") -> CnnLstm:
    return CnnLstm(_pooled(tvm.mobilenet_v3_large(weights=None).features), feature_dim, pooling=pooling)


@register_model("efficientnet_b0_lstm", feature_dim=1280, input_size=160, pooling="mean")
def efficientnet_b0_lstm(feature_dim: int, pooling: str = "mean") -> CnnLstm:
    return CnnLstm(_pooled(tvm.efficientnet_b0(weights=None).features), feature_dim, pooling=pooling)
