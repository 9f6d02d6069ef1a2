"""The Detector: the crops it scores are byte-identical to the ones training and evaluation derive from
the crop cache (and int8 calibration makes), and its report follows verdict.py."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from deepfake_detect import Detector, Settings
from deepfake_detect.faces import FaceSpec
from deepfake_detect.inference.calibration_data import folder_face_crops
from deepfake_detect.inference.sample_faces import render_frames
from deepfake_detect.models import LoadedModel, create_model
from deepfake_detect.synthetic import render_video
from deepfake_detect.training.cache import prepare
from deepfake_detect.training.datasets import Source
from deepfake_detect.training.samples import TrackDataset, build_items
from deepfake_detect.training.scoring import ScoringSet
from deepfake_detect.verdict import ScoringRule

FRAMES = 8


def _detector(max_faces: int = 16, **geometry) -> Detector:
    torch.manual_seed(0)
    model, config = create_model("resnet18_lstm", input_size=64, **geometry)
    settings = Settings(frames_per_video=FRAMES, runtime="torch", max_faces=max_faces)
    return Detector(LoadedModel.in_memory(model, config), settings)


def _served_crops(detector: Detector, video: Path, monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """The crops `Detector.analyze` hands to the classifier, per face track."""
    seen: list[np.ndarray] = []
    score = detector.classifier.score_tracks

    def spy(tracks: list[np.ndarray], cnn=None):
        seen.extend(tracks)
        return score(tracks, cnn)

    monkeypatch.setattr(detector.classifier, "score_tracks", spy)
    report = detector.analyze(video)
    assert len(seen) == len(report.faces) > 0
    return seen


@pytest.mark.parametrize(
    "geometry",
    [
        {},  # the bundled model's: 224 px patches at 1.3x, resized to the model's 64 px
        {"patch_size": 256, "patch_scale": 1.8},  # a wider patch: the crop is its centre
    ],
    ids=["patch-224", "wide-patch"],
)
def test_serving_and_training_crops_are_byte_identical(
    geometry: dict, video_two_faces: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    detector = _detector(**geometry)
    served = _served_crops(detector, video_two_faces, monkeypatch)

    # Training's side, built independently from the same Settings and model config.
    face = FaceSpec.from_settings(Settings(frames_per_video=FRAMES), detector.config)
    sources = [Source(str(video_two_faces), "video", 0, "g", "test")]
    records = prepare(sources, tmp_path / "cache", face.cache_spec(), workers=1, progress=False)
    items = build_items(records, sources)
    evaluated = [ScoringSet(sources, records, tmp_path / "cache", face).crops(it) for it in items]
    dataset = TrackDataset(items, tmp_path / "cache", face.crop, frames=FRAMES)  # no SBI, no augmentation
    trained = [dataset[i][0].numpy() for i in range(len(items))]

    assert len(served) == len(evaluated) == len(trained) == 2
    for a, b, c in zip(served, evaluated, trained, strict=True):
        assert a.shape == (FRAMES, 64, 64, 3) and a.dtype == np.uint8
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_calibration_crops_are_the_cached_crops_of_a_photo(tmp_path: Path) -> None:
    """int8 calibration from a folder crops a photo exactly as `prepare` + training crop it."""
    detector = _detector()
    photo = tmp_path / "photos" / "face.png"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), render_frames(320, 240, n_frames=1, seed=5)[0][..., ::-1])
    calibration = folder_face_crops(photo.parent, detector.face_spec)

    sources = [Source(str(photo), "image", 0, "g", "test")]
    records = prepare(sources, tmp_path / "cache", detector.face_spec.cache_spec(), workers=1, progress=False)
    scoring = ScoringSet(sources, records, tmp_path / "cache", detector.face_spec)
    cached = np.concatenate([scoring.crops(it) for it in build_items(records, sources)])
    np.testing.assert_array_equal(calibration, cached)


def test_report_follows_the_scoring_rule(video_two_faces: Path) -> None:
    detector = _detector()
    report = detector.analyze(video_two_faces)
    rule = ScoringRule.of(detector.config)
    worst = max(report.faces, key=lambda f: f.logit)
    assert report.raw_score == worst.logit and report.fake_probability == worst.fake_probability
    assert report.deciding_track_id == worst.track_id  # both faces are seen throughout: both judged
    assert report.prediction == ("FAKE" if report.fake_probability >= rule.threshold else "REAL")
    assert report.is_fake == (report.prediction == "FAKE")
    for face in report.faces:
        assert [o.frame_index for o in face.observations] == sorted(o.frame_index for o in face.observations)


def test_faces_past_max_faces_are_counted_not_scored(video_two_faces: Path) -> None:
    both = _detector().analyze(video_two_faces)
    one = _detector(max_faces=1).analyze(video_two_faces)
    assert len(both.faces) == 2 and both.faces_not_analysed == 0 and both.message is None
    assert len(one.faces) == 1 and one.faces_not_analysed == 1 and one.deciding_track_id == 0
    assert (
        one.message == "2 faces found: the 1 most prominent (MAX_FACES) were analysed, 1 seen less were not"
    )
    assert both.faces[0].frames == both.faces[1].frames  # both seen throughout: the larger face stays
    kept = max(both.faces, key=lambda f: f.size_px)
    assert one.faces[0].size_px == kept.size_px and kept.size_px > min(f.size_px for f in both.faces)


def test_a_small_face_in_a_large_frame_is_judged_with_a_caution(tmp_path: Path) -> None:
    """Found by the closer look (faces/detect.py), a ~36 px face in 1080p is judged, and the report
    says that faces this small read less reliably (report.SMALL_FACE_PX)."""
    path = render_video(tmp_path / "wide.mp4", width=1920, height=1080, n_frames=8, face_scale=0.05)
    report = _detector().analyze(path)
    assert report.prediction in ("REAL", "FAKE") and report.faces[0].size_px < 64
    assert report.message is not None and "is small" in report.message


def test_a_set_threshold_overrides_the_models(video_mp4: Path) -> None:
    model, config = create_model("resnet18_lstm", input_size=64)
    loaded = LoadedModel.in_memory(model, config)
    always = Detector(loaded, Settings(frames_per_video=4, runtime="torch", prediction_threshold=0.0))
    report = always.analyze(video_mp4)
    assert (
        report.threshold == 0.0
        and report.prediction == "FAKE"
        and report.confidence == report.fake_probability
    )


def test_no_face_is_not_judged(video_no_face: Path) -> None:
    report = _detector().analyze(video_no_face)
    assert report.prediction == "NO_FACE" and report.faces == []
    assert report.fake_probability is None and report.is_fake is None and report.confidence is None
    assert "no face" in report.message


def test_describe_tells_what_serves(video_mp4: Path) -> None:
    detector = _detector(patch_size=256, patch_scale=1.5)
    info = detector.describe()
    assert (info.input_size, info.crop_scale, info.patch_size, info.patch_scale) == (64, 1.3, 256, 1.5)
    assert info.frames_per_video == FRAMES and info.threshold == 0.5 and info.runtime.backend == "torch"
    assert info.format == "in-memory" and info.id.startswith("resnet18_lstm-")
