"""`bundle`: a trained checkpoint becomes the packaged default, in fp16, still describing itself."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from deepfake_detect.inference.bundled import bundle
from deepfake_detect.models import create_model, load_checkpoint, save_checkpoint


def test_bundle_halves_the_weights_and_keeps_the_recipe(tmp_path: Path) -> None:
    model, config = create_model("resnet18_lstm", input_size=64, frames=4)
    run = tmp_path / "run"
    run.mkdir()
    source = save_checkpoint(model, config, run / "epoch_1.safetensors")
    summary = {"recipe": {"val_fraction": 0.12, "seed": 0, "dlib": True}, "data": {"cache": "c"}}
    (run / "summary.json").write_text(json.dumps(summary))  # an older run's epoch file had no recipe
    target = bundle(source, "a test model", tmp_path / "default.safetensors", calibration="holds nowhere")
    loaded = load_checkpoint(target)
    assert loaded.config.extra["training"] == summary  # `evaluate --split` can rebuild the split
    assert loaded.config.extra["summary"] == "a test model"
    assert loaded.config.extra["calibration"] == "holds nowhere"
    assert target.stat().st_size < 0.6 * source.stat().st_size  # fp16 on disk
    original = model.state_dict()
    for key, value in loaded.model.state_dict().items():
        if value.is_floating_point():
            assert torch.equal(value, original[key].half().float()), key
