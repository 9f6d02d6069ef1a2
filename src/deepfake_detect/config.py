"""One settings object, read from the environment (and a `.env` file if present).

The seed's variables keep their names: MODEL_PATH, PREDICTION_THRESHOLD, HOST, PORT.

>>> Settings(PORT=9000).port
9000
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    # Accept the upper-case env name and the field name (for Settings(field=...) in code/tests).
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # --- the seed's variables ---
    model_path: Path | None = Field(
        None,
        validation_alias=_env("MODEL_PATH"),
        description="Checkpoint to serve (.safetensors of ours, or a seed .pth). Unset: the bundled model.",
    )
    prediction_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        validation_alias=_env("PREDICTION_THRESHOLD"),
        description="P(fake) at or above which a video is FAKE. Unset: the model's calibrated "
        "threshold, or 0.5 for checkpoints without one.",
    )
    host: str = Field("0.0.0.0", validation_alias=_env("HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("PORT"))

    # --- sampling and detection ---
    frames_per_video: int = Field(32, ge=1, le=512, validation_alias=_env("FRAMES_PER_VIDEO"))
    detect_max_side: int = Field(
        640,
        ge=160,
        le=4096,
        validation_alias=_env("DETECT_MAX_SIDE"),
        description="Frames are downscaled to this longest side for MTCNN; crops come from full resolution.",
    )
    min_face_size: int = Field(
        32,
        ge=12,
        validation_alias=_env("MIN_FACE_SIZE"),
        description="Smallest face MTCNN looks for, in pixels of the downscaled frame.",
    )
    face_confidence: float = Field(0.9, ge=0.0, le=1.0, validation_alias=_env("FACE_CONFIDENCE"))

    # --- limits ---
    max_upload_mb: float = Field(200.0, gt=0, validation_alias=_env("MAX_UPLOAD_MB"))
    max_batch_files: int = Field(10, ge=1, validation_alias=_env("MAX_BATCH_FILES"))
    max_duration_s: float = Field(600.0, gt=0, validation_alias=_env("MAX_DURATION_S"))
    max_pixels: int = Field(
        4096 * 2304,
        gt=0,
        validation_alias=_env("MAX_PIXELS"),
        description="Largest width*height accepted (default: a little over 4K UHD).",
    )

    # --- workers ---
    inference_workers: int = Field(1, ge=1, validation_alias=_env("INFERENCE_WORKERS"))
    max_queue: int = Field(
        4,
        ge=0,
        validation_alias=_env("MAX_QUEUE"),
        description="Requests allowed to wait for a worker; beyond this the server answers 503.",
    )
    torch_threads: int | None = Field(
        None,
        ge=1,
        validation_alias=_env("TORCH_THREADS"),
        description="Intra-op threads for inference. Unset: all cores.",
    )

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@lru_cache
def get_settings() -> Settings:
    return Settings()
