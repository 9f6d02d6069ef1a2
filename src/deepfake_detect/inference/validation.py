"""How far an approximate backend may stray from eager fp32, how that is measured, and the record of a
passed validation on labelled videos that lets `RUNTIME=auto` use the backend (inference/runtime.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..verdict import sigmoid
from .backends import TorchFeatures

if TYPE_CHECKING:
    from .runtime import TrackClassifier

PROB_TOLERANCE = 0.01  # max |P_fp32 - P_backend| per track and per frame
AUC_TOLERANCE = 0.005  # max AUC(fp32) - AUC(backend) on labelled videos


def compare_backends(
    clf: TrackClassifier, features: Callable[[torch.Tensor], torch.Tensor], tracks: Sequence[np.ndarray]
) -> dict:
    """Max |P_fp32 - P_backend| per track and per frame; fp32 is eager PyTorch."""
    ref = clf.score_tracks(list(tracks), cnn=TorchFeatures(clf.model))
    got = clf.score_tracks(list(tracks), cnn=features)
    t = clf.config.temperature
    track_diff = max(abs(sigmoid(a.logit, t) - sigmoid(b.logit, t)) for a, b in zip(ref, got, strict=True))
    frame_diff = max(
        float(np.abs(sigmoid(a.frame_logits, t) - sigmoid(b.frame_logits, t)).max())
        for a, b in zip(ref, got, strict=True)
    )
    logit_diff = max(
        float(np.abs(a.frame_logits - b.frame_logits).max()) for a, b in zip(ref, got, strict=True)
    )
    return {
        "max_prob_diff": round(max(track_diff, frame_diff), 6),
        "max_track_prob_diff": round(track_diff, 6),
        "max_logit_diff": round(logit_diff, 6),
        "tracks": len(tracks),
        "crops": int(sum(len(x) for x in tracks)),
    }


def record_validation(
    clf: TrackClassifier, backend: str, auc_fp32: float, auc_backend: float, max_prob_diff: float, data: str
) -> dict:
    """Store the result of a labelled-data validation of `backend` for this checkpoint; `auto` reads it."""
    record = {
        "auc_fp32": round(auc_fp32, 5),
        "auc": round(auc_backend, 5),
        "auc_drop": round(auc_fp32 - auc_backend, 5),
        "max_prob_diff": round(max_prob_diff, 5),
        "data": data,
        "passed": bool(auc_fp32 - auc_backend <= AUC_TOLERANCE and max_prob_diff <= PROB_TOLERANCE),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    cache = clf.runtime_cache()
    if backend in ("onnx", "onnx-int8"):
        record["file_sha256"] = (cache.meta()["derived"].get(backend) or {}).get("file_sha256")
    cache.update("validated", backend, record)
    return record
