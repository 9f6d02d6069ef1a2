"""The bundled default model on the two real videos in ``../shared/data/videos/real`` (neither trained on):
both must read REAL. Skips when ``../shared`` is absent or this install has no bundled model."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_detect import Detector, Settings
from deepfake_detect.inference.bundled import bundled_model_path

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def bundled_detector() -> Detector:
    if bundled_model_path() is None:
        pytest.skip("this install has no bundled model")
    return Detector.from_settings(Settings(model_path=None))


@pytest.mark.parametrize("name", ["facenet_pytorch_video_1080p.mp4", "hamilton_clip_640x360.mp4"])
def test_real_videos_read_real(bundled_detector: Detector, shared_data: Path, name: str) -> None:
    report = bundled_detector.analyze(shared_data / "videos" / "real" / name)
    assert report.prediction == "REAL", (name, report.fake_probability, report.threshold)
    assert report.faces, "the clip's faces were found"
