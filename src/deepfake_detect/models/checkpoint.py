"""Load and save checkpoints: the seed's `.pth` state dicts and our self-describing `.safetensors`.

Nothing is unpickled: `.pth` files go through `torch.load(weights_only=True)`, which accepts
tensors and plain containers only. A checkpoint that cannot be loaded raises `CheckpointError`;
there is no fallback to random weights.

>>> loaded = load_checkpoint("model_epoch_30.pth")  # the seed's format  # doctest: +SKIP
>>> loaded.config.arch, loaded.model_id  # doctest: +SKIP
('resnet50_lstm', 'resnet50_lstm-3f2a9c1b7d4e')
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import CheckpointError
from ..hashing import file_sha256
from .cnn_lstm import CnnLstm
from .registry import ModelConfig, create_model, seed_config

METADATA_KEY = "deepfake_detect"
_SEED_WRAPPERS = ("model_state_dict", "state_dict")


@dataclass
class LoadedModel:
    model: CnnLstm  # in eval mode, float32
    config: ModelConfig
    path: Path
    sha256: str
    source_format: str  # "safetensors" or "seed-pth"

    @classmethod
    def in_memory(cls, model: CnnLstm, config: ModelConfig) -> LoadedModel:
        """A model that has no file (yet), e.g. one being trained: scored by `inference.TrackClassifier`
        on the torch backend, which needs no derived files."""
        return cls(model, config, Path("<in memory>"), "0" * 64, "in-memory")

    @property
    def model_id(self) -> str:
        return f"{self.config.arch}-{self.sha256[:12]}"


def _unwrap(obj) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in _SEED_WRAPPERS:
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError("the .pth file does not hold a state dict of tensors")
    # Checkpoints saved from nn.DataParallel prefix every key with "module.".
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _seed_config(state: dict[str, torch.Tensor]) -> ModelConfig:
    """The registered architecture a plain state dict belongs to, by its BiLSTM's input width."""
    w = state.get("lstm.weight_ih_l0")
    if w is None:
        raise CheckpointError("no 'lstm.weight_ih_l0' in the state dict: not a CNN+BiLSTM checkpoint")
    config = seed_config(int(w.shape[1]))
    if config is None:
        raise CheckpointError(f"unrecognised LSTM input width {w.shape[1]}")
    return config


def _build(config: ModelConfig, state: dict[str, torch.Tensor]) -> CnnLstm:
    try:
        model, _ = create_model(config.arch, config=config)
    except KeyError as e:
        raise CheckpointError(str(e.args[0])) from e
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        first_lines = "; ".join(str(e).splitlines()[:3])
        raise CheckpointError(f"weights do not fit architecture {config.arch}: {first_lines}") from e
    return model.eval()


def load_checkpoint(path: str | os.PathLike) -> LoadedModel:
    """Load a `.safetensors` checkpoint of ours or a seed-style `.pth`/`.pt` state dict."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    if path.suffix == ".safetensors":
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
            state = load_file(str(path))
        except Exception as e:  # safetensors raises several types for damaged headers
            raise CheckpointError(f"not a readable safetensors file: {e}") from e
        if METADATA_KEY not in meta:
            raise CheckpointError(f"safetensors file has no '{METADATA_KEY}' metadata (architecture unknown)")
        config = ModelConfig.from_dict(json.loads(meta[METADATA_KEY]))
        fmt = "safetensors"
    else:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # pickle errors, zip errors, refused globals...
            raise CheckpointError(f"not a loadable PyTorch state dict (weights_only=True): {e}") from e
        state = _unwrap(obj)
        config = _seed_config(state)  # registered defaults + the architecture's seed recipe, uncalibrated
        fmt = "seed-pth"
    return LoadedModel(_build(config, state), config, path, file_sha256(path), fmt)


def save_checkpoint(
    model: nn.Module, config: ModelConfig, path: str | os.PathLike, half: bool = False
) -> Path:
    """Write weights plus the full config as safetensors metadata; `half` stores fp16 (half the size)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={METADATA_KEY: json.dumps(config.to_dict())})
    tmp.chmod(0o644)  # servers often run as another user than training
    tmp.replace(path)  # never leave a half-written checkpoint under the real name
    return path
