"""Models: a registry of CNN+BiLSTM architectures and checkpoint I/O. Running them is `inference/`.

Every architecture module is imported here, so importing the package registers them all (as timm does);
`registry.py` itself imports none of them.
"""

from . import cnn_lstm, efficientnet_lite  # noqa: F401  (register the CNN+BiLSTM architectures)
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
