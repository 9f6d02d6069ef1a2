"""Which model to serve: MODEL_PATH when set, else the default model shipped inside the package."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..config import Settings
from ..errors import NoModel
from ..models.checkpoint import LoadedModel, load_checkpoint

BUNDLED_NAME = "default.safetensors"


def bundled_model_path() -> Path | None:
    """Path of the bundled default checkpoint, or None when this install has none."""
    path = Path(str(resources.files("deepfake_detect") / "weights" / BUNDLED_NAME))
    return path if path.is_file() else None


def resolve_model(settings: Settings) -> LoadedModel:
    """Load MODEL_PATH, or the bundled model. Raises NoModel / CheckpointError with the reason."""
    if settings.model_path is not None:
        return load_checkpoint(settings.model_path)  # an explicit path never falls back
    bundled = bundled_model_path()
    if bundled is None:
        raise NoModel(
            "no model: MODEL_PATH is not set and this install has no bundled default model "
            "(train one with `deepfake-detect train` and set MODEL_PATH)"
        )
    return load_checkpoint(bundled)


def model_or_served(path: str | Path | None) -> LoadedModel:
    """`path`'s checkpoint, or for None the model the server would serve (MODEL_PATH, else bundled)."""
    return resolve_model(Settings()) if path is None else load_checkpoint(path)


def bundle(source: Path, summary: str, target: Path | None = None, calibration: str | None = None) -> Path:
    """Copy a trained checkpoint into the package as the default model, stored in fp16 (half the size).

    `summary` is the one-line card summary `/health` and `/info` show; `calibration`, when given, says in
    `/info` how far the fitted probabilities can be trusted off the validation data's domain.
    """
    import dataclasses

    from ..models.checkpoint import save_checkpoint

    loaded = load_checkpoint(source)
    extra = dict(loaded.config.extra, summary=summary, source_checkpoint=source.name)
    run_summary = source.parent / "summary.json"  # an epoch checkpoint of an older run lacks its recipe
    if "training" not in extra and run_summary.is_file():
        extra["training"] = json.loads(run_summary.read_text())
    if calibration:
        extra["calibration"] = calibration
    config = dataclasses.replace(loaded.config, extra=extra)
    target = target or Path(str(resources.files("deepfake_detect") / "weights" / BUNDLED_NAME))
    return save_checkpoint(loaded.model, config, target, half=True)


if __name__ == "__main__":
    import sys

    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python -m deepfake_detect.inference.bundled CHECKPOINT SUMMARY [CALIBRATION_NOTE]")
    print(bundle(Path(sys.argv[1]), sys.argv[2], calibration=sys.argv[3] if len(sys.argv) == 4 else None))
