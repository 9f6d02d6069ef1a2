"""Deepfake video detection: MTCNN face tracks scored by a CNN + BiLSTM, served by FastAPI.

>>> from deepfake_detect import Detector, get_settings  # doctest: +SKIP
>>> Detector.from_settings(get_settings()).analyze("clip.mp4").prediction  # doctest: +SKIP
'REAL'
"""

__version__ = "0.1.0"

from .config import Settings, get_settings  # noqa: E402
from .errors import (  # noqa: E402
    CheckpointError,
    CorruptMedia,
    DetectorError,
    MediaError,
    MediaTooLarge,
    NoModel,
    Overloaded,
    TooManyFiles,
    UnsupportedMedia,
)
from .models import LoadedModel, load_checkpoint  # noqa: E402
from .pipeline import Detector  # noqa: E402
from .report import VideoReport  # noqa: E402

__all__ = [
    "CheckpointError",
    "CorruptMedia",
    "Detector",
    "DetectorError",
    "LoadedModel",
    "MediaError",
    "MediaTooLarge",
    "NoModel",
    "Overloaded",
    "Settings",
    "TooManyFiles",
    "UnsupportedMedia",
    "VideoReport",
    "__version__",
    "get_settings",
    "load_checkpoint",
]
