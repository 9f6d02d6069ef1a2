"""`GET /info`: the model, its calibration and preprocessing, and the effective configuration."""

from __future__ import annotations

import torch
from fastapi import APIRouter

from ... import __version__
from ..deps import ServiceDep

router = APIRouter(tags=["info"])

SEED_FORMATS = [".mp4", ".avi", ".mkv", ".mov", ".webm"]


@router.get("/info", summary="Model and configuration")
async def info(service: ServiceDep) -> dict:
    settings = service.settings
    detector = service.detector
    model = None
    if detector is not None:
        loaded, config = detector.loaded, detector.config
        model = {
            "id": loaded.model_id,
            "architecture": config.arch,
            "path": str(loaded.path),
            "sha256": loaded.sha256,
            "format": loaded.source_format,
            "input_size": config.input_size,
            "mean": config.mean,
            "std": config.std,
            "crop_scale": config.crop_scale,
            "pooling": config.pooling,
            "aggregation": config.aggregation,
            "threshold": detector.threshold,
            "model_threshold": config.threshold,
            "temperature": config.temperature,
            "card": config.extra,
            "runtime": detector.classifier.describe(),  # CNN backend (onnx, onnx-int8, ...) and its checks
        }
    return {
        "api_version": __version__,
        "model": model,
        "model_unavailable_reason": service.unavailable_reason,
        "pipeline": [
            f"sample {settings.frames_per_video} evenly spaced frames in one decode pass",
            f"MTCNN face detection at {settings.detect_max_side} px, every face kept and tracked",
            "square face crops from the full-resolution frame",
            "CNN per crop + BiLSTM per face track -> calibrated P(fake) per face and per frame",
            "video P(fake) = max over face tracks; no face -> NO_FACE, never judged from the full frame",
        ],
        "formats": {
            "detected_by": "content (FFmpeg probing), not by file extension",
            "tested": SEED_FORMATS,
        },
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "settings": settings.model_dump(mode="json"),
    }
