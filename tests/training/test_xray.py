"""`train --xray`: the Face X-ray boundary loss (training/xray.py) and the feature map it reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detect.models import create_model
from deepfake_detect.models.checkpoint import load_checkpoint
from deepfake_detect.training.recipe import TrainConfig, setup_run
from deepfake_detect.training.run import optimiser
from deepfake_detect.training.train import _loss, train
from deepfake_detect.training.xray import XrayHead, XrayTerm, boundary_map, xray_loss


def test_boundary_is_zero_off_the_seam_and_full_where_half_blended() -> None:
    masks = np.array([[0.0, 1.0, 0.5, 0.25]], np.float32)
    assert boundary_map(masks).tolist() == [[0, 0, 255, 191]]  # 255 * 4 m (1 - m)


def test_loss_counts_known_crops_only_and_pools_to_the_map() -> None:
    logits = torch.zeros(3, 2, 2, requires_grad=True)  # [N, h, w]
    boundary = torch.zeros(3, 8, 8, dtype=torch.uint8)
    boundary[1, :4, :4] = 255  # the top-left cell of crop 1 is all seam
    known = torch.tensor([True, True, False])
    loss = xray_loss(logits, boundary, known)
    loss.backward()
    assert loss.item() == pytest.approx(np.log(2), abs=1e-6)  # BCE of logit 0, whatever the target
    assert logits.grad is not None and logits.grad[2].abs().max() == 0  # unknown: no gradient
    assert logits.grad[1, 0, 0] < 0 < logits.grad[1, 1, 1]  # up on the seam, down elsewhere
    assert xray_loss(logits, boundary, torch.zeros(3, dtype=torch.bool)).item() == 0


def test_feature_maps_give_the_features_and_train_the_head() -> None:
    torch.manual_seed(0)
    model, _ = create_model("efficientnet_lite0_lstm")
    model.eval()  # the same BatchNorm statistics for both calls
    x = torch.randn(3, 3, 64, 64)
    maps, feats = model.feature_maps(x)
    assert maps.shape == (3, model.feature_dim, 2, 2)  # stride 32
    torch.testing.assert_close(feats, model.features(x))
    head = XrayHead(model.feature_dim)
    boundary, known = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8), torch.tensor([True, True, False])
    steps, y = torch.tensor([[0, 1], [2, 2]]), torch.tensor([0.0, 1.0])
    plain = _loss(model, x, steps, y, None, 0.5, False, "cpu")  # eval mode: no dropout, the same twice
    with_xray = _loss(model, x, steps, y, None, 0.5, False, "cpu", XrayTerm(head, 2.0, boundary, known))
    with_xray.backward()
    added = 2.0 * xray_loss(head(maps), boundary, known)
    torch.testing.assert_close(with_xray, plain + added)
    assert head.conv.weight.grad is not None and head.conv.weight.grad.abs().sum() > 0
    optimizer, _ = optimiser(TrainConfig(data=[], out="", epochs=1), model, 8, head)
    assert [len(g["params"]) for g in optimizer.param_groups][-1] == 2  # the head's weight and bias


def test_a_trunk_without_a_feature_map_is_refused() -> None:
    model, _ = create_model("resnet18_lstm")
    with pytest.raises(ValueError, match="feature map"):
        model.feature_maps(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match="--xray"):
        TrainConfig(data=[], out="", xray=-1.0)


def test_an_xray_run_trains_resumes_and_ships_no_head(dfdc_dir: Path, tmp_path: Path) -> None:
    """End to end on the synthetic DFDC part: SBI pairs carry boundaries, the head trains beside the model,
    `last.pt` keeps it for `--resume`, and the checkpoint holds the model alone (serving is unchanged)."""
    out = tmp_path / "xray"
    common = dict(data=[str(dfdc_dir)], out=str(out), cache=str(tmp_path / "cache"), progress=False)
    common |= dict(arch="efficientnet_lite0_lstm", input_size=64, val_fraction=0.34, prepare_workers=1)
    common |= dict(sbi_only=True, sbi_pairs=True, frames=2, batch_size=2, bf16="off", threads=1)
    with pytest.raises(ValueError, match="--xray needs"):
        setup_run(TrainConfig(**(common | {"arch": "resnet18_lstm"}), xray=1.0))
    train(TrainConfig(**common, epochs=1, xray=1.0))
    row = json.loads((out / "metrics.jsonl").read_text())
    assert 0 < row["train_xray_loss"] < row["train_loss"]  # logged apart; train_loss = BCE + 1.0 x it
    saved = torch.load(out / "last.pt", weights_only=False)
    assert set(saved["xray_head"]) == {"conv.weight", "conv.bias"}
    assert saved["train_config"]["xray"] == 1.0
    first = saved["xray_head"]["conv.weight"].clone()
    resumed = setup_run(TrainConfig(data=[], out="", resume=str(out), epochs=2, progress=False))
    assert resumed.xray_head is not None and torch.equal(resumed.xray_head.conv.weight.cpu(), first)
    assert len(resumed.optimizer.param_groups) == 2
    shipped = load_checkpoint(out / "epoch_1.safetensors")
    assert not any("xray" in k for k in shipped.model.state_dict())
    head_ids = saved["optimizer"]["param_groups"][-1]["params"]
    assert all(i in saved["optimizer"]["state"] for i in head_ids)  # AdamW stepped the head
