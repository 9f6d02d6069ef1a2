"""Plain data passed between pipeline stages: media -> faces -> model -> verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What `media.probe` learns from the container without decoding pictures."""

    container: str  # FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str  # e.g. "h264"
    width: int  # display size, after rotation
    height: int
    rotation: int  # degrees clockwise the stored picture is turned for display (0/90/180/270)
    duration_s: float | None
    frame_count: int  # frames with a presentation timestamp, counted by demuxing
    fps: float | None
    size_bytes: int
    sha256: str  # of the file's bytes: names the exact file a report is about
    hdr: str | None = None  # "HLG" or "PQ": HDR video, its frames tone-mapped to SDR (media_color)


@dataclass(frozen=True)
class Frame:
    index: int  # position among the video's frames, in presentation order
    timestamp_s: float
    image: np.ndarray  # [H, W, 3] uint8 RGB, rotation already applied


@dataclass(frozen=True)
class SampledVideo:
    info: VideoInfo
    frames: list[Frame]


@dataclass(frozen=True)
class Detection:
    box: np.ndarray  # [4] float32 x1, y1, x2, y2 in full-resolution pixels
    landmarks: np.ndarray  # [5, 2] float32: eyes, nose, mouth corners
    score: float

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


@dataclass
class FaceTrack:
    """One person's face followed across the sampled frames."""

    track_id: int
    frame_positions: list[int] = field(default_factory=list)  # indices into SampledVideo.frames
    detections: list[Detection] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.detections)

    def append(self, position: int, detection: Detection) -> None:
        self.frame_positions.append(position)
        self.detections.append(detection)
