"""Square face crops with a margin, taken from the full-resolution frame, in two steps.

1. The *patch*: a square window of `patch_scale` x the MTCNN box side around the box centre, cut from the
   full-resolution frame (black outside it) and resampled to `patch_size` px. The training cache stores
   patches (lossless PNG), so training derives its crops from the very bytes serving starts from.
2. The *crop*: the centre `scale / patch_scale` of the patch, resized to the model's input `size`.

Serving runs both steps (`crop_face`, `crop_track`); `prepare` stores step 1 and training and `evaluate`
run step 2 on the stored patches (`crop_from_patch`), so all of them give byte-identical crops for the
same frame and detection. A patch wider than the crop (`patch_scale > scale`) leaves room to crop at
other scales around the serving one in training.

>>> spec = CropSpec(size=160, scale=1.3)  # a 224 px patch at the same margin, resized to 160
>>> frame = np.zeros((480, 640, 3), np.uint8)
>>> det = Detection(np.array([300, 200, 400, 300], np.float32), np.zeros((5, 2), np.float32), 0.99)
>>> crop_patch(frame, det, spec).shape, crop_face(frame, det, spec).shape
((224, 224, 3), (160, 160, 3))
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..types import Detection, FaceTrack, Frame


@dataclass(frozen=True)
class CropSpec:
    size: int = 224  # crop side fed to the model, in pixels
    scale: float = 1.3  # crop side = scale * longest side of the MTCNN box
    patch_size: int = 224  # side of the stored / intermediate face patch
    patch_scale: float | None = None  # patch side / box side; None: `scale` (no extra margin)

    @property
    def margin(self) -> float:
        """Patch side / box side."""
        return self.scale if self.patch_scale is None else self.patch_scale

    def __post_init__(self) -> None:
        if self.margin < self.scale:
            raise ValueError(f"patch_scale {self.margin} is narrower than the crop's scale {self.scale}")


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size and image.shape[1] == size:
        return image
    interp = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def patch_box(det: Detection, spec: CropSpec) -> np.ndarray:
    """The square patch window [x1, y1, x2, y2] (may extend past the frame) for a detection."""
    cx, cy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
    half = det.size * spec.margin / 2
    return np.array([cx - half, cy - half, cx + half, cy + half], dtype=np.float32)


def crop_patch(image: np.ndarray, det: Detection, spec: CropSpec) -> np.ndarray:
    """[patch_size, patch_size, 3] uint8 patch; outside the frame is black, as faces at the border are."""
    x1, y1, x2, y2 = np.round(patch_box(det, spec)).astype(int)
    h, w = image.shape[:2]
    side = max(x2 - x1, 1)
    canvas = np.zeros((side, side, 3), dtype=np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x1 + side, w), min(y1 + side, h)
    if sx2 > sx1 and sy2 > sy1:
        canvas[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
    return _resize(canvas, spec.patch_size)


def crop_from_patch(
    patch: np.ndarray,
    spec: CropSpec,
    shift: tuple[float, float] = (0.0, 0.0),
    inside: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """The model's [size, size, 3] crop from a [P, P, 3] patch: its centre `scale / patch_scale`, resized.

    Training only: `shift` moves the window by (dx, dy) box sides, and `inside` (x0, y0, x1, y1) keeps it
    within the part of the patch that shows the frame when it fits there (`training.samples.CropJitter`)."""
    p = patch.shape[0]
    side = min(p, round(p * spec.scale / spec.margin))
    x0 = y0 = (p - side) // 2
    if shift != (0.0, 0.0) or inside is not None:
        box = p / spec.margin  # the MTCNN box side in patch pixels
        x0, y0 = x0 + round(shift[0] * box), y0 + round(shift[1] * box)
        lo_x, lo_y, hi_x, hi_y = inside or (0, 0, p, p)
        x0 = min(max(x0, lo_x), hi_x - side) if hi_x - lo_x >= side else (lo_x + hi_x - side) // 2
        y0 = min(max(y0, lo_y), hi_y - side) if hi_y - lo_y >= side else (lo_y + hi_y - side) // 2
        x0, y0 = min(max(x0, 0), p - side), min(max(y0, 0), p - side)
    return _resize(patch[y0 : y0 + side, x0 : x0 + side], spec.size)


def crop_face(image: np.ndarray, det: Detection, spec: CropSpec) -> np.ndarray:
    """[size, size, 3] uint8 crop of one detection, exactly as training derives it from the cached patch."""
    return crop_from_patch(crop_patch(image, det, spec), spec)


def patch_landmarks(det: Detection, spec: CropSpec) -> np.ndarray:
    """The detection's 5 landmarks [5, 2] in the patch's pixel coordinates."""
    x1, y1, x2, _ = patch_box(det, spec)
    return ((det.landmarks - np.array([x1, y1])) * (spec.patch_size / (x2 - x1))).astype(np.float32)


def track_patches(frames: list[Frame], track: FaceTrack, spec: CropSpec) -> np.ndarray:
    """All patches of a track: [T, patch_size, patch_size, 3] uint8, in frame order."""
    pairs = zip(track.frame_positions, track.detections, strict=True)
    return np.stack([crop_patch(frames[p].image, d, spec) for p, d in pairs])


def crops_from_patches(patches: np.ndarray, spec: CropSpec) -> np.ndarray:
    """[T, P, P, 3] patches -> [T, size, size, 3] model crops."""
    return np.stack([crop_from_patch(p, spec) for p in patches])


def crop_track(frames: list[Frame], track: FaceTrack, spec: CropSpec) -> np.ndarray:
    """All crops of a track: [T, size, size, 3] uint8, in frame order."""
    return crops_from_patches(track_patches(frames, track, spec), spec)
