"""One settings object, read from the environment (and a `.env` file if present).

The seed's variables keep their names: MODEL_PATH, PREDICTION_THRESHOLD, HOST, PORT.

>>> Settings(PORT=9000).port
9000
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    # One fixed place per user, so `serve` and `worker` started from different folders share it.
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "deepfake-detect"


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
        description="Smallest face MTCNN looks for, in pixels of the downscaled frame; where no frame has "
        "one, a second look at half the frame's long side (at most 2 x DETECT_MAX_SIDE).",
    )
    face_confidence: float = Field(0.9, ge=0.0, le=1.0, validation_alias=_env("FACE_CONFIDENCE"))
    max_faces: int = Field(
        16,
        ge=1,
        validation_alias=_env("MAX_FACES"),
        description="Most face tracks scored per video: the most prominent (seen longest, then largest); "
        "the report counts the others (faces_not_analysed).",
    )

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
    # --- hostile input (media.py, api/uploads.py): checked from the header, then while decoding ---
    max_frames: int = Field(
        100_000,
        gt=0,
        validation_alias=_env("MAX_FRAMES"),
        description="Most frames a video may declare or hold (10 min at 60 fps is 36,000).",
    )
    max_streams: int = Field(
        16,
        ge=1,
        validation_alias=_env("MAX_STREAMS"),
        description="Most streams (video, audio...) a file may hold.",
    )
    max_decode_s: float = Field(
        120.0,
        gt=0,
        validation_alias=_env("MAX_DECODE_S"),
        description="Wall-time budget to open, demux and decode one video; past it: 413.",
    )
    max_decoded_gb: float = Field(
        64.0,
        gt=0,
        validation_alias=_env("MAX_DECODED_GB"),
        description="Picture bytes decoding one video may produce (10 min of 1080p30 is ~56 GB); "
        "stops decompression bombs that the time budget alone would let run.",
    )
    upload_dir: Path | None = Field(
        None,
        validation_alias=_env("UPLOAD_DIR"),
        description="Where uploads are written while analysed (deleted afterwards); made at start if "
        "missing. Unset: the system's temporary folder.",
    )
    upload_stall_s: float = Field(
        30.0,
        gt=0,
        validation_alias=_env("UPLOAD_STALL_S"),
        description="An upload that sends nothing for this long is answered 408 and its slot freed.",
    )
    upload_timeout_s: float = Field(
        600.0,
        gt=0,
        validation_alias=_env("UPLOAD_TIMEOUT_S"),
        description="Time allowed for a whole upload request body to arrive; past it: 408.",
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

    # --- inference runtime (inference/runtime.py, docs/performance.md) ---
    runtime: Literal["auto", "torch", "torch-bf16", "onnx", "onnx-int8"] = Field(
        "auto",
        validation_alias=_env("RUNTIME"),
        description="Backend of the CNN. auto: ONNX Runtime fp32, or int8/bf16 once validated on labelled "
        "videos for this checkpoint (deepfake-detect bench --accuracy); torch: eager fp32 reference; "
        "onnx-int8: static int8 (opt-in; ~3x faster than fp32 here).",
    )
    runtime_cache_dir: Path | None = Field(
        None,
        validation_alias=_env("RUNTIME_CACHE_DIR"),
        description="Where derived ONNX/int8 files go. Unset: next to the checkpoint "
        "(.deepfake_detect_cache/), or ~/.cache/deepfake_detect when that folder is read-only.",
    )
    runtime_calibration_dir: Path | None = Field(
        None,
        validation_alias=_env("RUNTIME_CALIBRATION_DIR"),
        description="Images/videos with faces to calibrate int8 on. Unset: synthetic face clips.",
    )
    warmup: bool = Field(
        True, validation_alias=_env("WARMUP"), description="Run a dummy video through the models at start-up."
    )

    # --- jobs, webhooks, keys (jobs/, docs/jobs.md) ---
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias=_env("DATA_DIR"),
        description="Uploads of queued jobs and, by default, the SQLite jobs database "
        "(default: $XDG_DATA_HOME/deepfake-detect or ~/.local/share/deepfake-detect).",
    )
    database_url: SecretStr | None = Field(
        None,
        validation_alias=_env("DATABASE_URL"),
        description="SQLAlchemy URL of the jobs database, e.g. postgresql+psycopg://user@host/db. "
        "Unset: a SQLite file in DATA_DIR.",
    )
    job_workers: int = Field(
        1, ge=0, validation_alias=_env("JOB_WORKERS"), description="In-process job worker threads."
    )
    max_job_uploads: int = Field(
        8,
        ge=1,
        validation_alias=_env("MAX_JOB_UPLOADS"),
        description="POST /jobs uploads received at once (each spooled to disk, then stored in "
        "DATA_DIR); beyond this: 503 + Retry-After. Queued jobs wait in the database, not here.",
    )
    job_lease_s: float = Field(
        60.0,
        gt=0,
        validation_alias=_env("JOB_LEASE_S"),
        description="A claimed job whose worker "
        "stops renewing its lease for this long is given to another worker.",
    )
    job_max_attempts: int = Field(
        3,
        ge=1,
        validation_alias=_env("JOB_MAX_ATTEMPTS"),
        description="Claims before a job whose "
        "workers keep dying fails (a poison video must not crash-loop every server).",
    )
    job_poll_s: float = Field(1.0, gt=0, validation_alias=_env("JOB_POLL_S"))
    result_ttl_days: float = Field(30.0, gt=0, validation_alias=_env("RESULT_TTL_DAYS"))
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=_env("WEBHOOK_ALLOWED_HOSTS"),
        description="Comma-separated host names (or *.domain) callbacks may go to. Empty: none.",
    )
    webhook_secret: SecretStr | None = Field(None, validation_alias=_env("WEBHOOK_SECRET"))
    webhook_timeout_s: float = Field(10.0, gt=0, validation_alias=_env("WEBHOOK_TIMEOUT_S"))
    webhook_max_attempts: int = Field(8, ge=1, validation_alias=_env("WEBHOOK_MAX_ATTEMPTS"))
    webhook_retry_base_s: float = Field(2.0, gt=0, validation_alias=_env("WEBHOOK_RETRY_BASE_S"))
    api_keys_file: Path | None = Field(None, validation_alias=_env("API_KEYS_FILE"))
    rate_limit: str = Field(
        "300/minute", validation_alias=_env("RATE_LIMIT"), description="Default per-key request rate."
    )
    rate_limit_storage: str = Field(
        "memory://",
        validation_alias=_env("RATE_LIMIT_STORAGE"),
        description="limits storage URI; redis://host:6379 shares the counts between server processes.",
    )

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value):
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@lru_cache
def get_settings() -> Settings:
    return Settings()
