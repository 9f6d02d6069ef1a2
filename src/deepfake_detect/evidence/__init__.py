"""Evidence behind a finished job's verdict, computed on demand from its kept upload: the face crops the
model saw (`crops.py`), where it looked (`explain.py`, Grad-CAM), and the caches and views the API serves
them through (`service.py`, `views.py`). The default analysis path computes none of it."""

from .crops import TrackCrops, job_crops
from .explain import CamResult, GradCam, target_layer
from .service import AnalysedVideo, EvidenceService

__all__ = [
    "AnalysedVideo",
    "CamResult",
    "EvidenceService",
    "GradCam",
    "TrackCrops",
    "job_crops",
    "target_layer",
]
