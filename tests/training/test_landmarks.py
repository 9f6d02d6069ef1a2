"""68-point landmarks and identity descriptors (dlib), and the SBI masks drawn from them."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_detect.training import landmarks
from deepfake_detect.training.sbi import HULL_SHAPES, landmark_hull_mask, self_blend

needs_dlib = pytest.mark.skipif(
    not landmarks.available(), reason="dlib-bin / face_recognition_models missing"
)


@pytest.fixture(scope="module")
def astronaut_face():
    skimage_data = pytest.importorskip("skimage.data")
    from deepfake_detect.faces import FaceDetector

    image = skimage_data.astronaut()  # [512, 512, 3] RGB, one face
    return image, FaceDetector().detect_images([image])[0][0]


@needs_dlib
def test_68_landmarks_fall_on_the_face(astronaut_face) -> None:
    image, det = astronaut_face
    points = landmarks.FaceLandmarker().landmarks(image, det)  # [68, 2]
    x1, y1, x2, y2 = det.box
    margin = 0.15 * (x2 - x1)
    assert points.shape == (68, 2)
    assert (points[:, 0] > x1 - margin).all() and (points[:, 0] < x2 + margin).all()
    assert (points[:, 1] > y1 - margin).all() and (points[:, 1] < y2 + margin).all()
    eyes, mouth = points[landmarks.EYES].mean(0), points[landmarks.MOUTH].mean(0)
    assert eyes[1] < mouth[1]  # eyes above the mouth


@needs_dlib
def test_descriptors_group_one_person_and_split_two(astronaut_face) -> None:
    image, det = astronaut_face
    marker = landmarks.FaceLandmarker()
    same = marker.descriptor(image, det)
    flipped = marker.descriptor(np.ascontiguousarray(image[:, ::-1]), _mirror(det, image.shape[1]))
    rng = np.random.default_rng(0)
    other = rng.normal(0, 0.1, 128).astype(np.float32)
    groups = landmarks.identity_clusters({"a": same, "b": flipped, "c": other})
    assert groups["a"] == groups["b"] == "a" and groups["c"] == "c"


@needs_dlib
def test_a_fresh_cache_gives_the_records_a_rerun_reads(astronaut_face, tmp_path) -> None:
    """Person clusters (hence the split) are computed from these descriptors: the run that fills the cache
    and every later run must see the same numbers (the index stores them rounded)."""
    import cv2

    from deepfake_detect.training.cache import CacheSpec, prepare, read_index
    from deepfake_detect.training.datasets import discover

    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "astronaut.png"), astronaut_face[0][..., ::-1])
    spec = CacheSpec(frames=1, dlib=True)
    fresh = prepare(discover(tmp_path / "photos"), tmp_path / "cache", spec, workers=1, progress=False)
    (key,) = fresh
    again = read_index(tmp_path / "cache")[key].tracks[0]
    assert fresh[key].tracks[0].descriptor is not None
    np.testing.assert_array_equal(fresh[key].tracks[0].descriptor, again.descriptor)
    np.testing.assert_array_equal(fresh[key].tracks[0].landmarks68, again.landmarks68)


def _mirror(det, width: int):
    from deepfake_detect.types import Detection

    x1, y1, x2, y2 = det.box
    return Detection(np.array([width - x2, y1, width - x1, y2], np.float32), det.landmarks, det.score)


def _face_points(size: int = 200) -> np.ndarray:
    """A plausible frontal 68-point layout: jaw arc, brows, nose, eyes, mouth, scaled to `size`."""
    t = np.linspace(np.pi, 2 * np.pi, 17)
    jaw = np.stack([0.5 + 0.35 * np.cos(t), 0.45 - 0.4 * np.sin(t)], 1)
    brows = np.stack([np.linspace(0.25, 0.75, 10), np.full(10, 0.32)], 1)
    nose = np.stack([np.full(9, 0.5), np.linspace(0.38, 0.6, 9)], 1)
    eyes = np.stack([np.r_[np.linspace(0.3, 0.42, 6), np.linspace(0.58, 0.7, 6)], np.full(12, 0.4)], 1)
    mouth = np.stack([np.linspace(0.38, 0.62, 20), np.full(20, 0.72)], 1)
    return (np.concatenate([jaw, brows, nose, eyes, mouth]) * size).astype(np.float32)


@pytest.mark.parametrize("kind", HULL_SHAPES)
def test_every_hull_shape_is_a_face_region(kind: str) -> None:
    mask = landmark_hull_mask(_face_points(), (200, 200), np.random.default_rng(0), kind)
    assert 0.03 < mask.mean() < 0.6 and mask[0, 0] == 0  # a region of the face, not the whole crop
    if kind == "lower":
        assert mask[150, 100] == 1 and mask[70, 100] == 0  # mouth in, brows out


def test_self_blend_with_68_points_changes_the_image_and_stays_in_range() -> None:
    image = np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    fake, mask = self_blend(image, _face_points(), np.random.default_rng(2))
    assert fake.shape == image.shape and fake.dtype == np.uint8
    assert 0 < mask.max() <= 1 and np.abs(fake.astype(int) - image).mean() > 0.5
