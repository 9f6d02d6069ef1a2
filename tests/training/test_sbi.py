"""Self-Blended Images: mask geometry, locality of the blend, determinism."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from deepfake_detect.training.sbi import face_hull_mask, mask_margin, self_blend

SIZE = 224
# MTCNN (facenet_pytorch, keep_all=False) on the crop below: left eye, right eye, nose, left/right mouth.
LANDMARKS = np.array(
    [[76.81, 90.52], [126.17, 92.67], [100.44, 122.61], [72.62, 134.26], [123.62, 135.94]], np.float32
)
SEEDS = range(12)


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    crop = data.astronaut()[20:220, 140:330]  # [200, 190, 3] uint8 RGB, Eileen Collins' face
    return cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def test_hardcoded_landmarks_match_mtcnn(face: np.ndarray) -> None:
    facenet = pytest.importorskip("facenet_pytorch")
    _, _, points = facenet.MTCNN(keep_all=False, device="cpu").detect(face, landmarks=True)
    assert points is not None
    np.testing.assert_allclose(np.asarray(points[0], np.float32), LANDMARKS, atol=2.0)


def test_hull_covers_landmarks_forehead_and_chin() -> None:
    hull = face_hull_mask(LANDMARKS, (SIZE, SIZE))
    assert hull.dtype == np.float32 and hull.shape == (SIZE, SIZE)
    assert set(np.unique(hull)) == {0.0, 1.0}
    for x, y in np.round(LANDMARKS).astype(int):
        assert hull[y, x] == 1
    d = float(np.linalg.norm(LANDMARKS[3:].mean(0) - LANDMARKS[:2].mean(0)))  # eye-mouth distance
    eye_y, mouth_y, x = LANDMARKS[:2, 1].mean(), LANDMARKS[3:, 1].mean(), int(LANDMARKS[2, 0])
    assert hull[int(eye_y - 0.5 * d), x] == 1  # forehead
    assert hull[int(mouth_y + 0.7 * d), x] == 1  # chin
    assert hull[int(eye_y - 1.0 * d), x] == 0 and hull[int(mouth_y + 1.1 * d), x] == 0
    assert 0.1 < hull.mean() < 0.35
    assert hull[0, 0] == hull[0, -1] == hull[-1, 0] == hull[-1, -1] == 0


def test_hull_follows_rotation() -> None:
    """Swapping x and y (a reflection of the whole face) reflects the hull: the geometry is equivariant."""
    hull = face_hull_mask(LANDMARKS, (SIZE, SIZE))
    mirrored = face_hull_mask(LANDMARKS[:, ::-1], (SIZE, SIZE))
    iou = np.logical_and(hull.T, mirrored).sum() / np.logical_or(hull.T, mirrored).sum()
    assert iou > 0.97


def test_hull_rejects_bad_landmarks() -> None:
    with pytest.raises(ValueError):
        face_hull_mask(np.zeros((4, 2)), (SIZE, SIZE))
    with pytest.raises(ValueError):
        face_hull_mask(np.zeros((5, 2)), (SIZE, SIZE))


def test_self_blend_is_local(face: np.ndarray) -> None:
    hull = face_hull_mask(LANDMARKS, face.shape).astype(np.uint8)
    margin = mask_margin(face.shape)
    assert margin < SIZE // 6
    near_face = cv2.dilate(hull, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)).astype(bool)
    nose_x, nose_y = np.round(LANDMARKS[2]).astype(int)
    for seed in SEEDS:
        fake, mask = self_blend(face, LANDMARKS, np.random.default_rng(seed))
        assert fake.dtype == np.uint8 and fake.shape == face.shape
        assert mask.dtype == np.float32 and mask.shape == face.shape[:2]
        assert mask.min() >= 0 and mask.max() <= 1 and mask.max() >= 0.25
        assert mask[nose_y, nose_x] > 0
        assert not mask[~near_face].any()  # zero far from the face
        assert mask[0, 0] == mask[0, -1] == mask[-1, 0] == mask[-1, -1] == 0
        untouched = mask == 0
        np.testing.assert_array_equal(fake[untouched], face[untouched])  # exact copy outside the mask
        assert (fake[mask > 0] != face[mask > 0]).any()  # something changed inside the face


def test_self_blend_is_deterministic(face: np.ndarray) -> None:
    fake_a, mask_a = self_blend(face, LANDMARKS, np.random.default_rng(7))
    fake_b, mask_b = self_blend(face, LANDMARKS, np.random.default_rng(7))
    np.testing.assert_array_equal(fake_a, fake_b)
    np.testing.assert_array_equal(mask_a, mask_b)
    fake_c, _ = self_blend(face, LANDMARKS, np.random.default_rng(8))
    assert (fake_a != fake_c).any()


def test_self_blend_does_not_modify_input(face: np.ndarray) -> None:
    before = face.copy()
    self_blend(face, LANDMARKS, np.random.default_rng(0))
    np.testing.assert_array_equal(face, before)


def test_self_blend_rejects_face_outside_image(face: np.ndarray) -> None:
    with pytest.raises(ValueError):
        self_blend(face, LANDMARKS + 1000, np.random.default_rng(0))
    with pytest.raises(ValueError):
        self_blend(face.astype(np.float32), LANDMARKS, np.random.default_rng(0))


@pytest.mark.parametrize("p_frequency", [0.0, 0.5, 1.0])
def test_p_frequency_sets_how_often_the_frequency_step_runs(
    face: np.ndarray, p_frequency: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deepfake_detect.training import sbi

    calls = []
    original = sbi._frequency_transform
    monkeypatch.setattr(sbi, "_frequency_transform", lambda s, rng: calls.append(1) or original(s, rng))
    for seed in range(40):
        self_blend(face, LANDMARKS, np.random.default_rng(seed), p_frequency)
    assert {0.0: len(calls) == 0, 0.5: 10 <= len(calls) <= 30, 1.0: len(calls) == 40}[p_frequency]


@pytest.mark.parametrize("p_frequency", [1.0, 0.5])
def test_p_frequency_one_draws_nothing_extra(
    face: np.ndarray, p_frequency: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 1 the frequency transform gets the generator exactly as the colour transform left it, as before
    the option existed, so earlier runs (run M) replay bit for bit; below 1 the coin is one draw between."""
    from deepfake_detect.training import sbi

    states = {}
    colour, frequency = sbi._colour_transform, sbi._frequency_transform

    def recorded_colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = colour(image, rng)
        states["after colour"] = rng.bit_generator.state
        return out

    def recorded_frequency(source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        states["before frequency"] = rng.bit_generator.state
        return frequency(source, rng)

    monkeypatch.setattr(sbi, "_colour_transform", recorded_colour)
    monkeypatch.setattr(sbi, "_frequency_transform", recorded_frequency)
    for seed in range(20):  # below 1, the first seed whose coin lets the transform run
        states.clear()
        self_blend(face, LANDMARKS, np.random.default_rng(seed), p_frequency)
        if "before frequency" in states:
            break
    assert (states["after colour"] == states["before frequency"]) == (p_frequency == 1.0)
