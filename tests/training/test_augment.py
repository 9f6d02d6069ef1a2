"""Robustness augmentations: shapes, determinism, temporal consistency."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from skimage import data

from deepfake_detect.training.augment import (
    AugmentParams,
    RobustAugment,
    apply_params,
    augment_sequence,
    sharpen_kernel,
)

SIZE = 224


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    crop = data.astronaut()[20:220, 140:330]
    return cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("p", [0.5, 1.0])
def test_keeps_dtype_and_shape(face: np.ndarray, p: float) -> None:
    augment = RobustAugment(p=p)
    rectangular = face[:, :200]
    for seed in range(8):
        for image in (face, rectangular):
            out = apply_params(image, augment.sample(np.random.default_rng(seed)))
            assert out.dtype == np.uint8 and out.shape == image.shape and out.flags.c_contiguous


def test_p_zero_is_identity(face: np.ndarray) -> None:
    (out,) = augment_sequence([face], np.random.default_rng(0), RobustAugment(p=0.0))
    np.testing.assert_array_equal(out, face)


def test_sampled_params_in_range() -> None:
    augment = RobustAugment(p=1.0)
    for seed in range(20):
        params = augment.sample(np.random.default_rng(seed))
        assert params.flip
        assert params.jpeg_quality is not None and 30 <= params.jpeg_quality <= 95
        assert params.downscale is not None and 0.4 <= params.downscale <= 0.9
        assert params.blur_sigma is not None and params.noise_sigma is not None
        assert all(0.8 <= v <= 1.2 for v in (params.brightness, params.contrast, params.saturation))


def test_p_jpeg_sets_only_the_jpeg_step() -> None:
    """--p-jpeg 1.0 re-encodes every crop and leaves every other draw as the default recipe's."""
    for seed in range(20):
        default = RobustAugment().sample(np.random.default_rng(seed))
        always = RobustAugment(p_jpeg=1.0).sample(np.random.default_rng(seed))
        never = RobustAugment(p_jpeg=0.0).sample(np.random.default_rng(seed))
        assert always.jpeg_quality is not None and never.jpeg_quality is None
        assert (always.flip, always.blur_sigma, always.downscale, always.noise_seed) == (
            default.flip,
            default.blur_sigma,
            default.downscale,
            default.noise_seed,
        )


def test_p_sharpen_adds_one_draw_after_the_others() -> None:
    """--p-sharpen 0 (the default) draws nothing, so recipes without it keep their stream; 1.0 sharpens
    every crop and leaves every other step as the default recipe's."""
    for seed in range(20):
        default = RobustAugment().sample(np.random.default_rng(seed))
        always = RobustAugment(p_sharpen=1.0).sample(np.random.default_rng(seed))
        assert default.sharpen is None and always.sharpen is not None
        alpha, lightness = always.sharpen
        assert 0.2 <= alpha <= 0.5 and 0.5 <= lightness <= 1.0
        assert dataclasses.replace(always, sharpen=None) == default


def test_p_erase_paints_one_grey_rectangle_and_keeps_the_other_draws(face: np.ndarray) -> None:
    for seed in range(20):
        default = RobustAugment(p_sharpen=0.5).sample(np.random.default_rng(seed))
        always = RobustAugment(p_sharpen=0.5, p_erase=1.0).sample(np.random.default_rng(seed))
        assert default.erase is None and always.erase is not None
        assert dataclasses.replace(always, erase=None) == default
        x0, y0, x1, y1, grey = always.erase
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 and 0.015 <= (x1 - x0) * (y1 - y0) <= 0.2
        out = apply_params(face, AugmentParams(erase=always.erase))
        changed = np.any(out != face, axis=2)  # [H, W]
        box = out[round(y0 * SIZE) : round(y1 * SIZE), round(x0 * SIZE) : round(x1 * SIZE)]
        assert np.all(box == grey)
        assert changed.sum() <= box.shape[0] * box.shape[1]  # nothing outside the rectangle moved


def test_p_dim_darkens_with_sensor_noise_and_keeps_the_other_draws(face: np.ndarray) -> None:
    for seed in range(20):
        default = RobustAugment(p_erase=0.5).sample(np.random.default_rng(seed))
        always = RobustAugment(p_erase=0.5, p_dim=1.0).sample(np.random.default_rng(seed))
        assert default.dim is None and always.dim is not None
        gamma, gain = always.dim
        assert 1.0 <= gamma <= 2.0 and 0.5 <= gain <= 1.0
        assert always.noise_sigma is not None and 2.0 <= always.noise_sigma <= 8.0  # low light is noisy
        if default.noise_sigma is not None:  # a drawn noise is kept, not drawn again
            assert always.noise_sigma == default.noise_sigma
        assert dataclasses.replace(always, dim=None, noise_sigma=default.noise_sigma) == default
    out = apply_params(face, AugmentParams(dim=(1.8, 0.6)))
    assert out.mean() < 0.5 * face.mean()  # the probe's dim look
    assert out.max() <= round(0.6 * 255)


def test_sharpening_raises_high_frequency_energy(face: np.ndarray) -> None:
    def detail(image: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())

    out = apply_params(face, AugmentParams(sharpen=(0.5, 1.0)))
    assert detail(out) > 1.5 * detail(face)
    assert sharpen_kernel(0.0, 1.0).sum() == pytest.approx(1.0)  # alpha 0: the identity


@pytest.mark.parametrize(
    "params",
    [
        AugmentParams(sharpen=(0.3, 0.7)),
        AugmentParams(jpeg_quality=30),
        AugmentParams(downscale=0.4),
        AugmentParams(blur_sigma=1.5),
        AugmentParams(brightness=1.1, contrast=0.8, saturation=1.2),
        AugmentParams(noise_sigma=5.0),
        AugmentParams(flip=True),
    ],
)
def test_each_step_changes_image_moderately(face: np.ndarray, params: AugmentParams) -> None:
    out = apply_params(face, params)
    assert out.dtype == np.uint8 and out.shape == face.shape
    assert (out != face).any()
    if not params.flip:
        assert np.abs(out.astype(np.float32) - face).mean() < 25  # still the same picture


def test_apply_is_deterministic_and_pure(face: np.ndarray) -> None:
    before = face.copy()
    params = RobustAugment(p=1.0).sample(np.random.default_rng(3))
    np.testing.assert_array_equal(apply_params(face, params), apply_params(face, params))
    np.testing.assert_array_equal(face, before)
    out_a = augment_sequence([face], np.random.default_rng(5))
    out_b = augment_sequence([face], np.random.default_rng(5))
    np.testing.assert_array_equal(out_a[0], out_b[0])


def test_sequence_uses_one_draw_for_all_frames(face: np.ndarray) -> None:
    augment = RobustAugment(p=1.0)
    other = np.ascontiguousarray(face[::-1])
    out = augment_sequence([face, face.copy(), other], np.random.default_rng(11), augment)
    assert len(out) == 3
    np.testing.assert_array_equal(out[0], out[1])  # identical frames stay identical (noise included)
    assert (out[0] != face).any()
    params = augment.sample(np.random.default_rng(11))  # the same draw, applied frame by frame
    np.testing.assert_array_equal(out[2], apply_params(other, params))
    default = augment_sequence([face, face], np.random.default_rng(12))
    np.testing.assert_array_equal(default[0], default[1])


def test_rejects_non_uint8(face: np.ndarray) -> None:
    with pytest.raises(ValueError):
        apply_params(face.astype(np.float32), AugmentParams())
