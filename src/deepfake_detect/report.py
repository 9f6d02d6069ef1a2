"""The result of analysing one video: one JSON shape for the API, the CLI and evaluation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FaceObservation(BaseModel):
    frame_index: int = Field(description="Frame number in the video, in presentation order")
    timestamp_s: float
    box: list[int] = Field(description="x1, y1, x2, y2 in pixels of the displayed (rotated) frame")
    detection_score: float = Field(description="MTCNN's confidence that this is a face")
    fake_probability: float = Field(description="Calibrated P(fake) of this face in this frame")


class FaceTrackReport(BaseModel):
    track_id: int
    fake_probability: float = Field(description="Calibrated P(fake) for this person's face track")
    logit: float
    frames: int
    first_seen_s: float
    last_seen_s: float
    observations: list[FaceObservation]


class StageTimings(BaseModel):
    decode_s: float = 0.0
    detect_s: float = 0.0
    crop_s: float = 0.0
    classify_s: float = 0.0
    aggregate_s: float = 0.0
    total_s: float = 0.0


class VideoMeta(BaseModel):
    container: str
    codec: str
    width: int
    height: int
    rotation: int
    duration_s: float | None
    fps: float | None
    frame_count: int


class VideoReport(BaseModel):
    """Seed fields first (video_name ... raw_score), then the evidence behind them."""

    video_name: str
    prediction: Literal["REAL", "FAKE", "NO_FACE"] = Field(
        description="NO_FACE when no face was found: the video is not judged from the full frame"
    )
    confidence: float | None = Field(
        description="Probability of the returned prediction (P(fake) for FAKE, 1-P(fake) for REAL)"
    )
    is_fake: bool | None
    frames_analyzed: int
    raw_score: float | None = Field(description="Logit of the deciding (most fake-looking) face track")
    fake_probability: float | None = Field(description="Calibrated P(fake) of the video: max over faces")
    threshold: float
    faces: list[FaceTrackReport]
    message: str | None = None
    video: VideoMeta
    model_id: str
    aggregation: str
    timings: StageTimings
