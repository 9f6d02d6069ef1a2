"""`deepfake-detect calibrate`: refit bias, temperature and threshold of a finished checkpoint."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from deepfake_detect import load_checkpoint
from deepfake_detect.cli import main
from deepfake_detect.models import create_model, save_checkpoint
from deepfake_detect.training.recalibrate import recalibrate


def _untrained(path: Path) -> Path:
    """An untrained model whose logits are offset by +3: refitting must take the offset out."""
    torch.manual_seed(0)
    model, config = create_model("resnet18_lstm", input_size=64, frames=6, threshold=0.5, temperature=1.0)
    with torch.no_grad():
        model.head[-1].bias.add_(3.0)
    return save_checkpoint(model, config, path)


def test_only_the_last_bias_and_the_calibration_change(tmp_path: Path, dfdc_dir: Path, capsys) -> None:
    source = _untrained(tmp_path / "m.safetensors")
    out = tmp_path / "recalibrated.safetensors"
    args = ["calibrate", str(dfdc_dir), "--model", str(source), "--out", str(out), "--workers", "1"]
    assert main([*args, "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["videos"] == 6 and summary["fake"] == 3 and summary["out"] == str(out)

    before, after = load_checkpoint(source), load_checkpoint(out)
    old, new = before.model.state_dict(), after.model.state_dict()
    changed = [k for k in old if not torch.equal(old[k], new[k])]
    assert changed == ["head.3.bias"]  # the fitted offset; every other weight is untouched
    assert summary["bias_added"] < -1.0
    assert new["head.3.bias"] - old["head.3.bias"] == pytest.approx(summary["bias_added"], abs=1e-5)
    config = after.config
    assert (config.temperature, config.threshold) == (
        pytest.approx(summary["temperature"][1]),
        pytest.approx(summary["threshold"][1]),
    )
    record = config.extra["recalibrated"]
    assert record["from"] == before.model_id and record["split"] == "all"
    assert record["data"] == [str(dfdc_dir.resolve())]


def test_one_class_is_refused(tmp_path: Path, photo_dir: Path) -> None:
    source = _untrained(tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="one class only"):
        recalibrate([str(photo_dir)], source, tmp_path / "r.safetensors", workers=1, progress=False)
    assert not (tmp_path / "r.safetensors").exists()


def test_split_val_needs_a_recipe_or_split_of(tmp_path: Path, dfdc_dir: Path) -> None:
    source = _untrained(tmp_path / "m.safetensors")
    kw = dict(split="val", workers=1, progress=False)
    with pytest.raises(ValueError, match="does not record how it was trained"):
        recalibrate([str(dfdc_dir)], source, tmp_path / "r.safetensors", **kw)
    model, config = create_model("resnet18_lstm", input_size=64, frames=6)
    recipe = {"recipe": {"val_fraction": 0.34, "seed": 0}, "data": {}}  # as a training run records it
    run = save_checkpoint(
        model, dataclasses.replace(config, extra={"training": recipe}), tmp_path / "run.safetensors"
    )
    # dfdc_dir's validation side at 0.34: one real video and the fake made from it (test_train_e2e)
    _, summary = recalibrate([str(dfdc_dir)], source, tmp_path / "r.safetensors", split_of=run, **kw)
    assert (summary["videos"], summary["fake"]) == (2, 1)
    assert load_checkpoint(tmp_path / "r.safetensors").config.extra["recalibrated"]["split_of"] == str(run)
