"""Grad-CAM works for every registered architecture, and explains the numbers the report shows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepfake_detect.evidence import GradCam, target_layer
from deepfake_detect.evidence.explain import overlay
from deepfake_detect.inference.runtime import TrackClassifier
from deepfake_detect.models import create_model, list_models
from deepfake_detect.models.checkpoint import LoadedModel

SIZE = 64  # every architecture still has a spatial (2x2 or larger) last feature map at 64 px


def _crops(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


@pytest.mark.parametrize("arch", list_models())
def test_grad_cam_for_every_architecture(arch: str):
    torch.manual_seed(0)
    model, config = create_model(arch, input_size=SIZE)
    crops = _crops(5)
    result = GradCam(model, config)(crops, positions=[3, 1])
    assert result.heatmaps.shape == (2, SIZE, SIZE)
    assert np.isfinite(result.heatmaps).all()
    assert result.heatmaps.min() >= 0 and result.heatmaps.max() <= 1
    for heat in result.heatmaps:  # normalised to its peak, or all zero when nothing raised P(fake)
        assert heat.max() == pytest.approx(1.0) or heat.max() == 0
    assert result.layer == target_layer(model, SIZE)
    # The layer is the last spatial activation of the CNN: never the pooled [N, C, 1, 1] output.
    shapes: list[torch.Size] = []
    layer = dict(model.named_modules())[result.layer]
    handle = layer.register_forward_hook(lambda _m, _i, out: shapes.append(out.shape))
    with torch.no_grad():
        model.cnn(torch.zeros(1, 3, SIZE, SIZE))
    handle.remove()
    assert shapes[-1][2] * shapes[-1][3] > 1
    # The explained frames' logits are the ones serving computes for this track (eager fp32).
    served = TrackClassifier(LoadedModel.in_memory(model, config), keep_layout=True).score_tracks([crops])[0]
    np.testing.assert_allclose(result.frame_logits, served.frame_logits, rtol=1e-3, atol=1e-4)


def test_heatmap_follows_the_feature_map():
    """A CNN whose last feature map is blanked outside its top-left quarter: the heatmap must be zero
    outside that quarter (the right layer is used, and resized without flipping or transposing)."""
    torch.manual_seed(0)
    size = 128  # a 4x4 last feature map
    model, config = create_model("resnet18_lstm", input_size=size)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :2] = 1
    *trunk, pool = model.cnn.children()
    model.cnn = torch.nn.Sequential(*trunk, _Mask(mask), pool)
    crops = np.random.default_rng(1).integers(0, 256, (3, size, size, 3), dtype=np.uint8)
    result = GradCam(model, config)(crops, positions=[0, 1, 2])
    assert result.layer == f"cnn.{len(trunk)}"  # the mask's output: the last spatial activation
    heat = result.heatmaps  # [3, S, S]
    assert heat.max() == pytest.approx(1.0)
    assert heat[:, size // 2 + 16 :, :].max() == 0 and heat[:, :, size // 2 + 16 :].max() == 0


class _Mask(torch.nn.Module):
    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


def test_overlay_keeps_the_crop_visible():
    crop = np.full((8, 8, 3), 200, np.uint8)
    heat = np.zeros((8, 8), np.float32)
    heat[:4] = 1.0
    out = overlay(crop, heat)
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert not np.array_equal(out[0, 0], out[7, 7])  # hot and cold rows differ
