"""What the evidence routes answer: explanations and the downloadable JSON report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..jobs.views import JobView
from ..report import ModelInfo


class FrameExplanation(BaseModel):
    frame_index: int = Field(description="Frame number in the video, as in the report's observations")
    timestamp_s: float
    fake_probability: float = Field(description="This face's calibrated P(fake) in this frame (the report's)")
    crop: str = Field(description="The model's input crop, as a PNG data URL")
    heatmap: str = Field(description="The crop with the Grad-CAM heatmap over it, as a PNG data URL")


class Explanation(BaseModel):
    """Where the model looked, for one face track's most suspicious frames (or the frame asked for)."""

    job_id: str
    track_id: int
    model_id: str
    method: Literal["grad-cam"] = "grad-cam"
    layer: str = Field(description="The CNN module whose feature map was used (the last before pooling)")
    target: str = Field(description="The score whose gradient is shown")
    frames: list[FrameExplanation]


class AnalysisSettings(BaseModel):
    """The settings this server analyses with now; the job's own threshold and model are in its result."""

    frames_per_video: int
    detect_max_side: int
    min_face_size: int
    face_confidence: float
    runtime: str
    prediction_threshold: float | None = Field(description="PREDICTION_THRESHOLD; null: the model's own")


class JobReport(BaseModel):
    """The downloadable report: the job with its full result, the model card and the settings."""

    generated_at: datetime
    job: JobView
    model: ModelInfo | None = Field(
        description="The model that analysed the job, when this server still serves it; else null"
    )
    settings: AnalysisSettings
