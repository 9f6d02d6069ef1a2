"""`training/scoring.py`: what a checkpoint was trained on, and scoring from a cache unlike serving."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from deepfake_detect.models import default_config
from deepfake_detect.training.scoring import training_folders


def test_training_folders_are_found_by_name_under_the_data_root(tmp_path: Path) -> None:
    recorded = ["/elsewhere/data/dfdc_faces", "/elsewhere/data/timit/"]
    config = default_config("resnet18_lstm")
    trained = dataclasses.replace(config, extra={"training": {"data": {"data": recorded}}})
    assert training_folders(trained, tmp_path) == [str(tmp_path / "dfdc_faces"), str(tmp_path / "timit")]
    assert training_folders(config) == []  # a checkpoint that records no training data


def test_the_bundled_model_names_the_five_training_families() -> None:
    from deepfake_detect.inference.bundled import model_or_served

    names = [Path(f).name for f in training_folders(model_or_served(None).config)]
    assert names == ["dfdc_faces", "utkface", "talking_heads", "faces", "timit"]


def test_scoring_from_a_cache_unlike_serving_names_only_what_differs(tmp_path: Path, caplog) -> None:
    import json

    from deepfake_detect.faces.spec import CacheSpec
    from deepfake_detect.training.cache import SPEC
    from deepfake_detect.training.scoring import face_spec_for

    config = default_config("resnet18_lstm")
    spec = CacheSpec(frames=8, size=config.patch_size, scale=config.crop_scale, dlib=True)
    (tmp_path / SPEC).write_text(json.dumps(dataclasses.asdict(spec)))
    with caplog.at_level("WARNING"):
        face = face_spec_for(tmp_path, config)
    assert face.frames == 8  # the cache decides
    assert "prepared with frames=8; serving with the current settings would use frames=32" in caplog.text
    assert "dlib" not in caplog.text and "detect_max_side" not in caplog.text
