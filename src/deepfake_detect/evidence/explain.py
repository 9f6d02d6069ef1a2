"""Where the model looked: Grad-CAM on the CNN's last spatial feature map, for any registered architecture.

The target layer is found, not named: a forward pass records every module of `model.cnn` whose output
is a 4-D activation [N, C, h, w] with h*w > 1, and the last one to finish is the feature map right
before global pooling (ResNet's `layer4`, MobileNetV3's and EfficientNet's `features`, a timm model's
final conv/BN block). So a new architecture needs no entry here.

The score explained is a frame's own P(fake) logit, as the timeline shows it: the whole track runs
through the CNN and the BiLSTM, the frames to explain with gradients, the others without, and each
frame's heatmap is ReLU(sum_c mean(d logit_t / d A_t[c]) * A_t[c]) over its own activation A_t, resized
to the crop. Red: regions whose activation raised P(fake) for that frame.

>>> cam = GradCam(loaded.model, loaded.config)  # doctest: +SKIP
>>> result = cam(track_crops, positions=[7, 12])  # doctest: +SKIP
>>> result.heatmaps.shape, result.layer  # doctest: +SKIP
((2, 160, 160), 'cnn.7')
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn

from ..models.cnn_lstm import CnnLstm
from ..models.registry import ModelConfig


@dataclass(frozen=True)
class CamResult:
    heatmaps: np.ndarray  # [k, S, S] float32 in [0, 1], one per explained frame
    layer: str  # the module whose activation was used, e.g. "cnn.7"
    frame_logits: np.ndarray  # [T] the frames' logits in this forward pass (uncalibrated)


class _Recorder:
    """Forward hooks on every module of a CNN, keeping the spatial 4-D outputs in completion order."""

    def __init__(self, cnn: nn.Module):
        self.outputs: list[tuple[str, torch.Tensor]] = []
        self.handles = [
            module.register_forward_hook(self._hook(name)) for name, module in cnn.named_modules()
        ]

    def _hook(self, name: str):
        def record(_module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.dim() == 4:
                self.outputs.append((name, output))

        return record

    def last_spatial(self) -> tuple[str, torch.Tensor]:
        spatial = [(n, t) for n, t in self.outputs if t.shape[2] * t.shape[3] > 1]
        if not spatial and not self.outputs:
            raise ValueError("the CNN produced no 4-D activation to explain")
        return (spatial or self.outputs)[-1]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def target_layer(model: CnnLstm, input_size: int) -> str:
    """Name of the module Grad-CAM uses for `model` at `input_size` (what `CamResult.layer` reports)."""
    recorder = _Recorder(model.cnn)
    try:
        with torch.no_grad():
            model.cnn(torch.zeros(1, 3, input_size, input_size))
        return _qualified(recorder.last_spatial()[0])
    finally:
        recorder.remove()


def _qualified(name: str) -> str:
    return f"cnn.{name}" if name else "cnn"


class GradCam:
    """Grad-CAM for one `CnnLstm` (a private copy: hooks on a model other threads run would record their
    tensors too). Calls are serialised; explaining 3 frames of a face track takes 0.6-1.4 s for the bundled
    ResNet18 at 160 px (tracks of 11-32 frames, busy 2-core dev machine)."""

    def __init__(self, model: CnnLstm, config: ModelConfig):
        self.model = model.eval()
        self.config = config
        self._lock = threading.Lock()

    def __call__(self, crops: np.ndarray, positions: list[int]) -> CamResult:
        """`crops` [T, S, S, 3] uint8, one face track in time order; `positions`: the frames to explain."""
        if not positions:
            raise ValueError("no frame to explain")
        with self._lock:
            return self._explain(crops, positions)

    def _explain(self, crops: np.ndarray, positions: list[int]) -> CamResult:
        model = self.model
        x = self.config.normalize(torch.from_numpy(np.ascontiguousarray(crops)))  # [T, 3, S, S]
        chosen = torch.tensor(positions, dtype=torch.long)
        with torch.no_grad():
            feats = model.features(x)  # [T, C]
        recorder = _Recorder(model.cnn)
        try:
            with torch.enable_grad():
                chosen_feats = model.features(x[chosen])  # [k, C], recorded
                layer, activation = recorder.last_spatial()  # [k, C', h, w]
                feats = feats.index_copy(0, chosen, chosen_feats)
                _, frame_logits = model.temporal(feats.unsqueeze(0))  # [1, T]
                cams = []
                for j, pos in enumerate(positions):
                    (grad,) = torch.autograd.grad(frame_logits[0, pos], activation, retain_graph=True)
                    weights = grad[j].mean(dim=(1, 2), keepdim=True)  # [C', 1, 1]
                    cams.append(torch.relu((weights * activation[j]).sum(0)).detach())  # [h, w]
        finally:
            recorder.remove()
        size = crops.shape[1]
        heatmaps = np.stack([_normalised(cam.float().numpy(), size) for cam in cams])
        return CamResult(heatmaps, _qualified(layer), frame_logits.detach()[0].float().numpy())


def _normalised(cam: np.ndarray, size: int) -> np.ndarray:
    """[h, w] class activation -> [size, size] in [0, 1] (all zero when nothing raised the score)."""
    heat = cv2.resize(cam.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    heat = np.clip(heat, 0.0, None)
    peak = float(heat.max())
    return heat / peak if peak > 1e-12 else np.zeros_like(heat)


def overlay(crop: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """[S, S, 3] uint8 crop with a [S, S] heatmap in [0, 1] laid over it (JET colours) -> [S, S, 3] uint8."""
    levels = np.round(heat * 255).astype(np.uint8)
    colours = cv2.applyColorMap(levels, cv2.COLORMAP_JET)[..., ::-1].astype(np.float32)  # RGB
    return np.round((1 - alpha) * crop.astype(np.float32) + alpha * colours).astype(np.uint8)
