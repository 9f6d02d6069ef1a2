"""`--sam`: the gradient is taken at the perturbed weights, the weights and BatchNorm statistics are as
they were, and it differs from the plain gradient."""

from __future__ import annotations

import pytest
import torch

from deepfake_detect.models import create_model
from deepfake_detect.training.recipe import TrainConfig
from deepfake_detect.training.sam import sam_gradient
from deepfake_detect.training.train import _loss


def _step_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x, y = torch.randn(4, 3, 64, 64), torch.tensor([1.0, 0.0])  # [N, 3, S, S] crops, [B]
    return x, torch.tensor([[0, 1], [2, 3]]), y  # steps [B, T]


def test_sam_gradient_is_the_gradient_at_the_perturbed_weights_and_restores_them() -> None:
    model, _ = create_model("resnet18_lstm")
    model.train()
    x, steps, y = _step_inputs()

    def loss_fn() -> torch.Tensor:
        torch.manual_seed(1)  # the same dropout masks in every pass
        return _loss(model, x, steps, y, None, 0.5, False, "cpu")

    weights = {k: v.clone() for k, v in model.state_dict().items()}
    loss_fn().backward()
    plain = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    after_first = {k: v.clone() for k, v in model.state_dict().items()}  # running stats moved once
    rho = 0.05
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in plain.values()]))
    sam_gradient(model, rho, loss_fn)
    for k, v in model.state_dict().items():  # weights restored; BatchNorm stats not moved by pass two
        if not k.endswith("num_batches_tracked"):  # counts passes; read only when momentum is None
            torch.testing.assert_close(v, after_first[k], rtol=0, atol=0)
    assert any(not torch.equal(weights[k], after_first[k]) for k in weights if "running_mean" in k)

    # The reference: move by hand to w + rho g / ||g|| on a copy, back-propagate there.
    ref, _ = create_model("resnet18_lstm")
    ref.load_state_dict(after_first)
    ref.train()
    with torch.no_grad():
        for n, p in ref.named_parameters():
            if n in plain:
                p.add_(plain[n] * rho / norm)
    torch.manual_seed(1)
    _loss(ref, x, steps, y, None, 0.5, False, "cpu").backward()
    grads = dict(ref.named_parameters())
    changed = 0
    for n, p in model.named_parameters():
        if n in plain:
            torch.testing.assert_close(p.grad, grads[n].grad, rtol=1e-4, atol=1e-6)
            changed += not torch.allclose(p.grad, plain[n])
    assert changed > 0


def test_a_negative_radius_is_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match="--sam must be 0"):
        TrainConfig(data=[], out="", sam=-0.05)
