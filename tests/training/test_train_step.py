"""Every registered architecture takes a training step; bf16 autocast works on CPU."""

from __future__ import annotations

import pytest
import torch

from deepfake_detect.models import create_model, list_models
from deepfake_detect.training.recipe import TrainConfig
from deepfake_detect.training.run import optimiser, train_mode
from deepfake_detect.training.train import _loss, smoothed_targets


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


@pytest.mark.parametrize("scale", [1.0, 0.2])
def test_backbone_lr_scale_sets_the_trunks_lr_alone(scale: float) -> None:
    model, _ = create_model("resnet18_lstm")
    cfg = TrainConfig(data=[], out="", epochs=1, batch_size=4, lr=1e-3, backbone_lr_scale=scale)
    opt, _ = optimiser(cfg, model, n_items=8)
    trunk = {id(p) for p in model.cnn.parameters()}
    lrs = {id(p): g["initial_lr"] for g in opt.param_groups for p in g["params"]}
    assert sorted(lrs) == sorted(id(p) for p in model.parameters())  # every parameter exactly once
    assert len(opt.param_groups) == (1 if scale == 1.0 else 2)
    assert all(lr == pytest.approx(1e-3 * (scale if i in trunk else 1.0)) for i, lr in lrs.items())


@pytest.mark.parametrize("freeze_bn", [False, True])
def test_freeze_bn_keeps_imagenet_statistics_and_trains_the_rest(freeze_bn: bool) -> None:
    torch.manual_seed(0)
    model, _ = create_model("resnet18_lstm")
    norms = [m for m in model.cnn.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    before = [(m.running_mean.clone(), m.weight.detach().clone()) for m in norms]
    train_mode(model, freeze_bn)
    assert model.training and model.lstm.training and all(m.training != freeze_bn for m in norms)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, steps = torch.randn(4, 3, 64, 64) * 3 + 1, torch.tensor([[0, 1], [2, 3]])  # [N, 3, S, S], [B, T]
    _loss(model, x, steps, torch.tensor([1.0, 0.0]), None, 0.5, False, "cpu").backward()
    opt.step()
    stats_kept = all(torch.equal(m.running_mean, mean) for m, (mean, _) in zip(norms, before, strict=True))
    assert stats_kept == freeze_bn
    assert any(not torch.equal(m.weight, w) for m, (_, w) in zip(norms, before, strict=True))  # scale trains


def test_label_smoothing_moves_the_loss_minimum_to_a_finite_logit() -> None:
    y = torch.tensor([0.0, 1.0])
    assert torch.equal(smoothed_targets(y, 0.0), y)
    target = smoothed_targets(y, 0.1)
    assert torch.allclose(target, torch.tensor([0.05, 0.95]))
    logit = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([logit], lr=5.0)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(logit, target).backward()
        opt.step()
    assert torch.allclose(torch.sigmoid(logit), target, atol=1e-3)  # no reward for going past 0.95
    with pytest.raises(ValueError, match="label-smoothing"):
        TrainConfig(data=[], out="", label_smoothing=1.0)


@pytest.mark.parametrize("option", ["p_sbi", "sbi_p_frequency", "p_jpeg", "p_sharpen", "p_erase"])
def test_probabilities_outside_0_1_are_refused(option: str) -> None:
    TrainConfig(data=[], out="", **{option: 1.0})
    with pytest.raises(ValueError, match=option.replace("_", "-")):
        TrainConfig(data=[], out="", **{option: -0.1})


@pytest.mark.parametrize("native", [True, False])
def test_forced_bf16_is_kept_and_warned_about_only_when_emulated(native, monkeypatch, caplog) -> None:
    from types import SimpleNamespace

    from deepfake_detect.training.train import _pick_bf16

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)
    run = SimpleNamespace(cfg=SimpleNamespace(bf16="on"), device="cpu")
    with caplog.at_level("WARNING"):
        assert _pick_bf16(run, None, None) is True  # a pinned choice is kept, fast or not
    assert ("without native bf16" in caplog.text) is not native
    run.cfg.bf16 = "off"
    assert _pick_bf16(run, None, None) is False
