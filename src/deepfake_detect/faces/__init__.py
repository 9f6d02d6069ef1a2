"""Faces stage: detect (MTCNN) -> track (link across frames) -> crop (from full-resolution frames).
`FaceSpec` holds every setting of the stage, from `Settings` and the model's config."""

from .crop import CropSpec, crop_face, crop_track
from .detect import FaceDetector
from .spec import CacheSpec, FaceSpec
from .track import build_tracks, most_prominent

__all__ = [
    "CacheSpec",
    "CropSpec",
    "FaceDetector",
    "FaceSpec",
    "build_tracks",
    "crop_face",
    "crop_track",
    "most_prominent",
]
