"""Inference: the track classifier runtime on a choice of backends (eager PyTorch, ONNX Runtime fp32 /
int8), the per-checkpoint cache of derived files, int8 calibration crops, and which model to serve."""

from .bundled import bundled_model_path, resolve_model
from .runtime import BACKENDS, RUNTIMES, TrackClassifier

__all__ = ["BACKENDS", "RUNTIMES", "TrackClassifier", "bundled_model_path", "resolve_model"]
