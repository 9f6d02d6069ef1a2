"""PNG encoding for crops and heatmaps (OpenCV's encoder: no new dependency)."""

from __future__ import annotations

import base64

import cv2
import numpy as np


def png(rgb: np.ndarray) -> bytes:
    """[H, W, 3] uint8 RGB -> PNG bytes."""
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buffer.tobytes()


def data_url(rgb: np.ndarray) -> str:
    """An image as a `data:image/png;base64,...` URL: embeds in JSON and in a printable page."""
    return "data:image/png;base64," + base64.b64encode(png(rgb)).decode("ascii")
