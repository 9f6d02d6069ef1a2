"""Faces stage: detect (MTCNN) -> track (link across frames) -> crop (from full-resolution frames)."""

from .crop import CropSpec, crop_face, crop_track
from .detect import FaceDetector
from .track import build_tracks

__all__ = ["CropSpec", "FaceDetector", "build_tracks", "crop_face", "crop_track"]
