"""Models: a registry of CNN+BiLSTM architectures, checkpoint I/O and the inference runtime."""

from .checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from .registry import ModelConfig, create_model, default_config, list_models, register_model

__all__ = [
    "LoadedModel",
    "ModelConfig",
    "create_model",
    "default_config",
    "list_models",
    "load_checkpoint",
    "register_model",
    "save_checkpoint",
]
