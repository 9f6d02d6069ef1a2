"""Frames with a real face in them, for the server's warm-up and the default int8 calibration crops.

`assets/face.png` is the astronaut portrait of scikit-image's sample data (Eileen Collins, NASA, public
domain), rows 40-200 and columns 150-300 of `skimage.data.astronaut()`, stored losslessly: the serving
path needs no scikit-image. `render_frames` puts copies of it on smooth, seed-determined backgrounds,
gliding from frame to frame, so MTCNN finds real faces and the tracker can link them. Test and benchmark
videos are encoded from these frames by `deepfake_detect.synthetic`.

>>> render_frames(320, 240, n_frames=2)[0].shape
(240, 320, 3)
"""

from __future__ import annotations

import functools
import math
from importlib import resources

import cv2
import numpy as np

FACE_ASSET = "face.png"
_PERIOD = 50  # frames per cycle of the motion: a few pixels a frame, so consecutive boxes overlap


@functools.cache
def face_image() -> np.ndarray:
    """The astronaut's face (RGB uint8, 160x150, face fills ~70% of the height). Cached; do not mutate."""
    data = resources.files("deepfake_detect").joinpath("assets", FACE_ASSET).read_bytes()
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError(f"the packaged {FACE_ASSET} cannot be decoded")
    img = np.ascontiguousarray(bgr[..., ::-1])
    img.setflags(write=False)
    return img


def _background(height: int, width: int, seed: int) -> np.ndarray:
    """A soft colour gradient with mild static noise, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    c0, c1 = rng.uniform(40, 215, size=(2, 3))
    t = (np.linspace(0, 1, width)[None, :, None] + np.linspace(0, 0.5, height)[:, None, None]) / 1.5
    bg = c0 * (1 - t) + c1 * t + rng.normal(0, 6, size=(height, width, 3))
    return np.clip(bg, 0, 255).astype(np.uint8)


def _shapes(img: np.ndarray, i: int, seed: int) -> None:
    """Draw a moving circle and rectangle (non-face shapes) in place."""
    h, w = img.shape[:2]
    rng = np.random.default_rng(seed + 1)
    colours = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(2)]
    s = min(h, w) // 6
    dx = int(0.15 * w * math.sin(2 * math.pi * i / _PERIOD))
    cv2.circle(img, (w // 4 + dx, h // 3), s, colours[0], -1)
    cv2.rectangle(img, (w // 2 - dx, h // 2), (w // 2 - dx + 2 * s, h // 2 + s), colours[1], -1)


def render_frames(
    width: int = 320,
    height: int = 240,
    n_frames: int = 20,
    faces: int = 1,
    face_scale: float = 0.45,
    seed: int = 0,
) -> list[np.ndarray]:
    """Render ``n_frames`` upright RGB frames (``height x width x 3``, uint8), deterministic in ``seed``.

    Each face crop is ``face_scale * height`` tall (x0.8 with several faces, less if needed to fit).
    Face ``k`` drifts smoothly (a sinusoid, period 50 frames) inside the ``k``-th vertical slot of
    the frame, so faces never overlap. ``faces=0`` draws moving shapes instead.
    """
    bg = _background(height, width, seed)
    face = face_image()
    fh = face_scale * height * (0.8 if faces > 1 else 1.0)
    slot = width / max(faces, 1)
    fh = min(fh, 0.85 * slot * face.shape[0] / face.shape[1], 0.9 * height)
    fw, fh = round(fh * face.shape[1] / face.shape[0]), round(fh)
    patch = cv2.resize(face, (fw, fh), interpolation=cv2.INTER_AREA) if faces else face
    frames = []
    for i in range(n_frames):
        img = bg.copy()
        if faces == 0:
            _shapes(img, i, seed)
        for k in range(faces):
            phase = 2 * math.pi * i / _PERIOD + k * math.pi / 2
            x = round(k * slot + (slot - fw) / 2 * (1 + 0.4 * math.sin(phase)))
            y = round((height - fh) / 2 * (1 + 0.4 * math.cos(phase)))
            img[y : y + fh, x : x + fw] = patch
        frames.append(img)
    return frames
