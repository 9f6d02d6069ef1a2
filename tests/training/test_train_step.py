"""Every registered architecture takes a training step; bf16 autocast works on CPU."""

from __future__ import annotations

import pytest
import torch

from deepfake_detect.models import create_model, list_models
from deepfake_detect.training.train import _loss


@pytest.mark.parametrize("arch", list_models())
def test_every_architecture_trains_one_step(arch: str) -> None:
    torch.manual_seed(0)
    model, _ = create_model(arch)
    model.train()
    x, y = torch.randn(3, 3, 32, 32), torch.tensor([0.0, 1.0])  # [N, 3, S, S] crops, [B]
    steps = torch.tensor([[0, 1], [2, 2]])  # [B, T]: a two-frame clip and a still
    loss = _loss(model, x, steps, y, torch.tensor(2.0), frame_weight=0.5, bf16=False, device="cpu")
    loss.backward()
    assert torch.isfinite(loss) and model.head[-1].weight.grad is not None
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_bf16_autocast_step_on_cpu() -> None:
    model, _ = create_model("resnet18_lstm")
    x, steps = torch.randn(4, 3, 64, 64), torch.tensor([[0, 1], [2, 3]])
    loss = _loss(model.train(), x, steps, torch.tensor([1.0, 0.0]), None, 0.5, True, "cpu")
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
