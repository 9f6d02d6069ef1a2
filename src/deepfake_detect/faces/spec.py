"""`FaceSpec`: how faces are found and cropped, decided once from `Settings` + the model's config.

Serving (`pipeline.Detector`), `prepare` (the training cache), training, `evaluate`, `bench --accuracy` and
the int8 calibration crops all take their frame count, MTCNN settings and crop geometry from one
`FaceSpec`, so the same frame gives the same crop everywhere:

>>> from deepfake_detect.config import Settings
>>> from deepfake_detect.models import default_config
>>> spec = FaceSpec.from_settings(Settings(), default_config("resnet18_lstm"))
>>> spec.frames, spec.crop
(32, CropSpec(size=160, scale=1.3, patch_size=224, patch_scale=None))
>>> spec.cache_spec()  # doctest: +NORMALIZE_WHITESPACE
CacheSpec(frames=32, size=224, scale=1.3, detect_max_side=640, min_face_size=32, face_confidence=0.9,
          dlib=False, match_frame_sizes=False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .crop import CropSpec

if TYPE_CHECKING:
    from ..config import Settings
    from ..models.registry import ModelConfig
    from .detect import FaceDetector


@dataclass(frozen=True)
class CacheSpec:
    """What a training cache was made with (its `spec.json`): the frames, the detector and the patches.
    The model's final crop is not part of it: any model whose patch geometry matches can use the cache."""

    frames: int = 32  # frames sampled per video (serving: FRAMES_PER_VIDEO)
    size: int = 224  # patch side stored (ModelConfig.patch_size)
    scale: float = 1.3  # patch side / MTCNN box side (ModelConfig.patch_scale, else crop_scale)
    detect_max_side: int = 640  # config.Settings defaults, so faces are found as the server finds them
    min_face_size: int = 32
    face_confidence: float = 0.9
    dlib: bool = False  # also 68 landmarks per patch (SBI masks) and an identity descriptor per track
    match_frame_sizes: bool = False  # real/ + fake/ frames of unlike sizes resampled alike (DeepfakeTIMIT)

    def face_spec(self) -> FaceSpec:
        """The spec `prepare` runs with: these frames and detector, cropping the patch itself."""
        patch = CropSpec(size=self.size, scale=self.scale, patch_size=self.size)
        return FaceSpec(self.frames, self.detect_max_side, self.min_face_size, self.face_confidence, patch)


def model_crop(model: ModelConfig) -> CropSpec:
    """The crop geometry a model's config asks for."""
    return CropSpec(model.input_size, model.crop_scale, model.patch_size, model.patch_scale)


@dataclass(frozen=True)
class FaceSpec:
    frames: int = 32  # frames sampled per video
    detect_max_side: int = 640  # MTCNN runs on frames downscaled to this longest side
    min_face_size: int = 32  # in pixels of the downscaled frame
    face_confidence: float = 0.9
    crop: CropSpec = field(default_factory=CropSpec)

    @classmethod
    def from_settings(
        cls, settings: Settings, model: ModelConfig | None = None, crop: CropSpec | None = None
    ) -> FaceSpec:
        """Frames and detection from the settings, crop geometry from the model's config (or `crop`)."""
        return cls(
            frames=settings.frames_per_video,
            detect_max_side=settings.detect_max_side,
            min_face_size=settings.min_face_size,
            face_confidence=settings.face_confidence,
            crop=crop or (model_crop(model) if model is not None else CropSpec()),
        )

    @classmethod
    def from_cache(cls, spec: CacheSpec, model: ModelConfig) -> FaceSpec:
        """The spec a cache was prepared with, cropped for `model`; ValueError if its patches do not fit
        the model's (another patch size or margin would give other pixels than serving)."""
        crop = model_crop(model)
        if spec.size != crop.patch_size or not math.isclose(spec.scale, crop.margin):
            raise ValueError(
                f"the cache holds {spec.size} px patches at {spec.scale}x the face box; the model's crops "
                f"come from {crop.patch_size} px patches at {crop.margin}x (prepare another --cache)"
            )
        return cls(spec.frames, spec.detect_max_side, spec.min_face_size, spec.face_confidence, crop)

    def cache_spec(self) -> CacheSpec:
        """The training cache this spec's patches live in."""
        return CacheSpec(
            frames=self.frames,
            size=self.crop.patch_size,
            scale=self.crop.margin,
            detect_max_side=self.detect_max_side,
            min_face_size=self.min_face_size,
            face_confidence=self.face_confidence,
        )

    def detector(self, threads: int | None = None) -> FaceDetector:
        from .detect import FaceDetector  # imports facenet-pytorch: only when a detector is wanted

        return FaceDetector(
            max_side=self.detect_max_side,
            min_face_size=self.min_face_size,
            confidence=self.face_confidence,
            threads=threads,
        )
