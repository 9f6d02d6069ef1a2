"""The result of analysing one video: one JSON shape for the API, the CLI and evaluation."""

from __future__ import annotations

from typing import Literal

import numpy as np
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

    @property
    def size_px(self) -> float:
        """How many pixels across the face is: the median of its boxes' longer sides."""
        return float(np.median([max(o.box[2] - o.box[0], o.box[3] - o.box[1]) for o in self.observations]))


# Below this many pixels across, readings drift towards FAKE and separate less: a real talking-head clip
# set smaller and smaller in a 1080p frame read P(fake) 0.11 at 134 px, 0.16 at 65, 0.33 at 53 and 0.43
# at 45 (threshold 0.566), and a Wav2Lip fake's lead over it shrank from 0.21 to 0.10 at 45 px.
SMALL_FACE_PX = 64


def small_face_caution(face: FaceTrackReport) -> str | None:
    """A sentence for a verdict decided by a small face; None when the face is large enough."""
    if not face.observations or face.size_px >= SMALL_FACE_PX:
        return None
    return (
        f"face {face.track_id} is small ({face.size_px:.0f} px across): below about {SMALL_FACE_PX} px this "
        "model's P(fake) drifts towards FAKE for real faces and tells fakes apart less, so read it with care"
    )


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
    size_bytes: int | None = Field(
        None, description="The file's size; None in reports stored before 2026-12-07"
    )
    sha256: str | None = Field(
        None,
        description="SHA-256 of the file's bytes as analysed (compare with `sha256sum`): the exact file "
        "this report is about. None in reports stored before 2026-12-07",
    )
    hdr: Literal["HLG", "PQ"] | None = Field(
        None,
        description="HDR video (phones record HLG): its frames were tone-mapped to SDR, the pictures the "
        "model was trained on, before analysis. None: SDR",
    )


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
    raw_score: float | None = Field(
        description="Logit of the deciding face track: the most fake-looking of those seen long enough"
    )
    fake_probability: float | None = Field(
        description="Calibrated P(fake) of the video: max over the faces seen in at least 1/4 as many "
        "frames as the longest-seen face"
    )
    threshold: float
    faces: list[FaceTrackReport]
    deciding_track_id: int | None = Field(
        None,
        description="track_id of the face whose P(fake) is the video's; a face seen more briefly may "
        "score higher and not decide. None for NO_FACE (and in reports stored before 2026-12-07)",
    )
    faces_not_analysed: int = Field(
        0, description="Face tracks found beyond MAX_FACES (the least seen, then smallest): not scored"
    )
    message: str | None = Field(
        None,
        description="In words, what to know beyond the numbers: why the video was not judged (NO_FACE), "
        "faces left unanalysed (MAX_FACES), a deciding face too small to read reliably "
        f"(under {SMALL_FACE_PX} px)",
    )
    video: VideoMeta
    model_id: str
    aggregation: str
    timings: StageTimings


class RuntimeInfo(BaseModel):
    """The CNN backend serving a checkpoint, and why (inference/runtime.py)."""

    requested: str = Field(description="RUNTIME setting: auto, torch, torch-bf16, onnx or onnx-int8")
    backend: str = Field(description="The backend in use")
    note: str = Field(description="Why this backend: validations found, fallbacks and their reasons")
    threads: int
    device: str = "cpu"
    speed_img_s: dict[str, float] | None = Field(None, description="Measured by `auto` when it had to choose")
    cache: str | None = Field(None, description="Folder of the derived ONNX / int8 files")
    checks: dict[str, dict] | None = Field(None, description="Agreement of each derived file with eager fp32")
    validated: dict[str, dict] | None = Field(
        None, description="Labelled-data validations (bench --accuracy)"
    )


class ModelInfo(BaseModel):
    """The served model: identity, preprocessing, calibration and card (`Detector.describe()`)."""

    id: str
    architecture: str
    path: str
    sha256: str
    format: str = Field(description="safetensors (ours) or seed-pth")
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_scale: float
    patch_size: int = Field(description="Side of the face patch each crop is cut from (the training cache's)")
    patch_scale: float = Field(description="Patch side / face box side")
    frames_per_video: int
    pooling: str
    aggregation: str
    threshold: float = Field(description="The threshold in use (PREDICTION_THRESHOLD, else the model's)")
    model_threshold: float
    temperature: float
    summary: str | None = Field(None, description="One-line card summary")
    card: dict = Field(description="The checkpoint's free-form metadata: training summary, calibration")
    runtime: RuntimeInfo
