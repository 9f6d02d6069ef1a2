"""Face crops for int8 calibration, made the way serving makes them (MTCNN + the model's crop geometry):
from synthetic clips by default, or from a folder of the user's images and videos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def synthetic_face_crops(input_size: int, crop_scale: float, n: int = 96, seed: int = 1000) -> np.ndarray:
    """Face crops made the way serving makes them (MTCNN on a frame, square crop with the model's margin)
    from synthetic frames (the scikit-image astronaut on varied backgrounds, sizes and positions):
    [n, S, S, 3] uint8. Flips and brightness changes widen the spread of activations."""
    from ..faces import CropSpec, FaceDetector
    from ..faces.crop import crop_face
    from ..synthetic import render_frames

    rng = np.random.default_rng(seed)
    detector = FaceDetector(max_side=640, min_face_size=32)
    spec = CropSpec(size=input_size, scale=crop_scale)
    crops: list[np.ndarray] = []
    k = 0
    while len(crops) < n and k < 4 * n:
        w, h = [(640, 360), (480, 480), (360, 640), (800, 450)][k % 4]
        frames = render_frames(
            w, h, n_frames=6, faces=1 + k % 2, face_scale=float(rng.uniform(0.3, 0.7)), seed=seed + k
        )
        frames = [f[:, :, ::-1].copy() if rng.random() < 0.3 else f for f in frames]  # swapped channels
        for frame, dets in zip(frames, detector.detect_images(frames), strict=True):
            for det in dets:
                crop = crop_face(frame, det, spec)
                if rng.random() < 0.5:
                    crop = crop[:, ::-1]
                gain, bias = rng.uniform(0.6, 1.4), rng.uniform(-30, 30)
                crops.append(np.clip(crop.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8))
        k += 1
    if not crops:
        raise RuntimeError("MTCNN found no face in the synthetic calibration frames")
    return np.stack(crops[:n])


def folder_face_crops(
    folder: str | os.PathLike, input_size: int, crop_scale: float, n: int = 96
) -> np.ndarray:
    """Face crops from the images (and a few frames of the videos) in `folder`, recursively."""
    import cv2

    from ..faces import CropSpec, FaceDetector
    from ..faces.crop import crop_face

    detector = FaceDetector(max_side=640, min_face_size=32)
    spec = CropSpec(size=input_size, scale=crop_scale)
    crops: list[np.ndarray] = []
    files = sorted(
        p for p in Path(folder).rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".mp4"}
    )
    for path in files:
        if path.suffix.lower() == ".mp4":
            from ..media import sample_frames

            images = [f.image for f in sample_frames(path, 4).frames]
        else:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                continue
            images = [cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)]
        for image, dets in zip(images, detector.detect_images(images), strict=True):
            crops.extend(crop_face(image, d, spec) for d in dets[:4])
        if len(crops) >= n:
            break
    if not crops:
        raise RuntimeError(f"no face found in {folder}")
    return np.stack(crops[:n])
