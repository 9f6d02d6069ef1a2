"""Square face crops with a margin, taken from the full-resolution frame."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..types import Detection, FaceTrack, Frame


@dataclass(frozen=True)
class CropSpec:
    size: int = 224  # output side in pixels
    scale: float = 1.3  # crop side = scale * longest side of the MTCNN box


def crop_box(det: Detection, spec: CropSpec) -> np.ndarray:
    """The square crop window [x1, y1, x2, y2] (may extend past the frame) for a detection."""
    cx, cy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
    half = det.size * spec.scale / 2
    return np.array([cx - half, cy - half, cx + half, cy + half], dtype=np.float32)


def crop_face(image: np.ndarray, det: Detection, spec: CropSpec) -> np.ndarray:
    """[size, size, 3] uint8 crop; parts outside the frame are black, as faces at the border are."""
    x1, y1, x2, y2 = np.round(crop_box(det, spec)).astype(int)
    h, w = image.shape[:2]
    side = max(x2 - x1, 1)
    canvas = np.zeros((side, side, 3), dtype=np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x1 + side, w), min(y1 + side, h)
    if sx2 > sx1 and sy2 > sy1:
        canvas[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
    interp = cv2.INTER_AREA if side > spec.size else cv2.INTER_LINEAR
    return cv2.resize(canvas, (spec.size, spec.size), interpolation=interp)


def crop_landmarks(det: Detection, spec: CropSpec) -> np.ndarray:
    """The detection's 5 landmarks [5, 2] in the crop's pixel coordinates."""
    x1, y1, x2, _ = crop_box(det, spec)
    return ((det.landmarks - np.array([x1, y1])) * (spec.size / (x2 - x1))).astype(np.float32)


def crop_track(frames: list[Frame], track: FaceTrack, spec: CropSpec) -> np.ndarray:
    """All crops of a track: [T, size, size, 3] uint8, in frame order."""
    return np.stack(
        [
            crop_face(frames[p].image, d, spec)
            for p, d in zip(track.frame_positions, track.detections, strict=True)
        ]
    )
