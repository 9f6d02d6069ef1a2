"""Face crops for int8 calibration, made exactly as serving makes them (the same `FaceSpec`: MTCNN settings
and crop geometry): from the packaged sample face by default, or from a folder of the user's images and
videos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DetectorError
from ..faces import FaceSpec, crop_face
from ..media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_image_rgb, sample_frames
from .sample_faces import render_frames


def sample_face_crops(spec: FaceSpec, n: int = 96, seed: int = 1000) -> np.ndarray:
    """Face crops from rendered frames (the sample face on varied backgrounds, sizes and positions):
    [n, S, S, 3] uint8. Flips, swapped channels and brightness changes widen the spread of activations."""
    rng = np.random.default_rng(seed)
    detector = spec.detector()
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
                crop = crop_face(frame, det, spec.crop)
                if rng.random() < 0.5:
                    crop = crop[:, ::-1]
                gain, bias = rng.uniform(0.6, 1.4), rng.uniform(-30, 30)
                crops.append(np.clip(crop.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8))
        k += 1
    if not crops:
        raise RuntimeError("MTCNN found no face in the rendered calibration frames")
    return np.stack(crops[:n])


def folder_face_crops(folder: str | os.PathLike, spec: FaceSpec, n: int = 96) -> np.ndarray:
    """Face crops from the images (and a few frames of the videos) in `folder`, recursively."""
    detector = spec.detector()
    crops: list[np.ndarray] = []
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
    for path in files:
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                images = [f.image for f in sample_frames(path, 4).frames]
            else:
                images = [read_image_rgb(path)]
        except (DetectorError, ValueError, OSError):  # unreadable: calibrate on the others
            continue
        for image, dets in zip(images, detector.detect_images(images), strict=True):
            crops.extend(crop_face(image, d, spec.crop) for d in dets[:4])
        if len(crops) >= n:
            break
    if not crops:
        raise RuntimeError(f"no face found in {folder}")
    return np.stack(crops[:n])
