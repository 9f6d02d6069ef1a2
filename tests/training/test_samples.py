"""Training samples: windows of cached tracks, track-consistent SBI, sampling and loss weighting."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detect.faces import CropSpec
from deepfake_detect.faces.crop import crop_from_patch
from deepfake_detect.inference.runtime import TrackClassifier
from deepfake_detect.models import LoadedModel, create_model
from deepfake_detect.training.augment import RobustAugment
from deepfake_detect.training.cache import CacheSpec, prepare
from deepfake_detect.training.datasets import discover
from deepfake_detect.training.samples import (
    CropJitter,
    TrackDataset,
    TrackItem,
    build_items,
    collate,
    valid_box,
)
from deepfake_detect.training.sampling import (
    class_balanced_sampler,
    expected_positive_rate,
    sampling_cells,
    sampling_weights,
    sbi_probabilities,
)
from deepfake_detect.training.xray import boundary_map


@pytest.fixture(scope="module")
def items_and_cache(tmp_path_factory, dfdc_dir: Path) -> tuple[list[TrackItem], Path]:
    cache_dir = tmp_path_factory.mktemp("cache")
    sources = discover(dfdc_dir)
    records = prepare(sources, cache_dir, CacheSpec(frames=8), workers=1, progress=False)
    return build_items(records, sources), cache_dir


def _dataset(items, cache_dir, **kw) -> TrackDataset:
    crop = CropSpec(size=kw.pop("input_size", 64))  # from the cache's 224 px patches at 1.3x
    return TrackDataset(items, cache_dir, crop, kw.pop("frames", 4), **kw)


def test_windows_have_the_model_input_shape(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    assert len(items) == 6 and all(len(it) == 6 for it in items)
    x, y, i, boundary = _dataset(items, cache_dir, augment=RobustAugment(p=1.0))[1]
    assert x.shape == (4, 64, 64, 3) and x.dtype == torch.uint8 and i == 1
    assert y == items[1].label and boundary is None  # no `xray`: nothing carried


def test_samples_are_deterministic_per_seed_and_epoch(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    a = _dataset(items, cache_dir, augment=RobustAugment(), p_sbi=0.5)
    b = _dataset(items, cache_dir, augment=RobustAugment(), p_sbi=0.5)
    assert all(torch.equal(a[i][0], b[i][0]) for i in range(len(items)))
    b.set_epoch(1)
    assert not all(torch.equal(a[i][0], b[i][0]) for i in range(len(items)))


def test_sbi_turns_a_real_track_into_a_consistent_fake(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    reals = [it for it in items if it.label == 0]  # a real-only family: p_sbi as given
    plain = _dataset(reals, cache_dir, frames=6, input_size=224)[0]
    blended = _dataset(reals, cache_dir, frames=6, input_size=224, p_sbi=1.0)[0]
    assert plain[1] == 0.0 and blended[1] == 1.0
    diff = (blended[0].float() - plain[0].float()).abs().mean(dim=(1, 2, 3))  # [T] per-frame change
    assert (diff > 0.5).all()  # every frame is blended ...
    assert float(diff.max() / diff.min()) < 3  # ... with one parameter draw (no flicker between frames)
    fake = next(i for i, it in enumerate(items) if it.label == 1)
    assert _dataset(items, cache_dir, p_sbi=1.0)[fake][1] == 1.0  # fakes stay fakes, untouched


def test_sbi_pairs_differ_only_by_the_blend(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    reals = [it for it in items if it.label == 0]
    kw = dict(frames=4, input_size=128, p_sbi=0.5, augment=RobustAugment(p=1.0), jitter=CropJitter())
    pair = _dataset(reals, cache_dir, pairs=True, **kw)[0]
    assert isinstance(pair, list) and [y for _, y, _, _ in pair] == [0.0, 1.0]
    (real, *_), (fake, *_) = pair
    changed = (real.int() - fake.int()).abs().amax(dim=3) > 8  # [T, s, s] pixels the blend moved
    assert 0.02 < changed.float().mean() < 0.9  # the face region changes; the background does not
    corners = changed[:, :8, :8].float().mean()  # same framing and augmentation: corners match
    assert corners < 0.2
    x, steps, y, idx, xray = collate([pair, _dataset(reals, cache_dir, **kw)[1]], frames=4)
    assert y.tolist()[:2] == [0.0, 1.0] and steps.shape == (3, 4) and idx.tolist()[:2] == [0, 0]
    assert xray is None


def test_p_frequency_reaches_the_blend(items_and_cache, monkeypatch: pytest.MonkeyPatch) -> None:
    from deepfake_detect.training import sbi

    items, cache_dir = items_and_cache
    reals = [it for it in items if it.label == 0]
    calls = []
    original = sbi._frequency_transform
    monkeypatch.setattr(sbi, "_frequency_transform", lambda s, rng: calls.append(1) or original(s, rng))
    assert _dataset(reals, cache_dir, p_sbi=1.0, p_frequency=0.0)[0][1] == 1.0 and not calls
    assert _dataset(reals, cache_dir, p_sbi=1.0)[0][1] == 1.0 and calls  # default: always


def test_jittered_views_keep_inside_the_picture(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    plain = _dataset(items, cache_dir, frames=6, input_size=64)
    jittered = _dataset(items, cache_dir, frames=6, input_size=64, jitter=CropJitter((0.8, 1.3)))
    x_plain, x_jit = plain[0][0], jittered[0][0]
    assert x_plain.shape == x_jit.shape == (6, 64, 64, 3) and not torch.equal(x_plain, x_jit)
    # a tight crop in a wide patch: the window moves into the picture instead of showing padding
    wide = np.zeros((300, 300, 3), np.uint8)
    wide[100:200, 80:220] = 200
    spec = CropSpec(size=32, scale=0.6, patch_size=300, patch_scale=2.0)
    assert valid_box(wide) == (80, 100, 220, 200)
    assert crop_from_patch(wide, spec, (0.3, -0.3), valid_box(wide)).min() == 200
    # no shift, no box: exactly serving's centre crop
    assert crop_from_patch(wide, spec).tobytes() == crop_from_patch(wide, spec, (0.0, 0.0)).tobytes()


def test_past_picture_frames_a_chip_in_black_as_served(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    chip = np.zeros((1, 180, 180, 3), np.uint8)  # a 1.8x patch of a chip 0.8 box sides wide
    chip[0, 50:130, 50:130] = 200
    spec = CropSpec(size=32, patch_size=180, patch_scale=1.8)
    inside, rng = valid_box(chip[0]), np.random.default_rng(0)
    whole = TrackDataset(items, cache_dir, spec, 1, jitter=CropJitter((1.2, 1.6)))
    framed = TrackDataset(items, cache_dir, spec, 1, jitter=CropJitter((1.2, 1.6), past_picture=True))
    assert whole.view(chip, rng, inside).min() == 200  # the chip read whole: zoomed past the jitter
    served = framed.view(chip, rng, inside)[0]  # [s, s, 3]: the chip in the middle, black around it
    assert served[:3, :3].max() == 0 and served[14:18, 14:18].min() == 200


def test_xray_boundaries_are_cut_and_flipped_with_their_crops(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    masks = np.random.default_rng(0).random((2, 224, 224)).astype(np.float32)  # [t, P, P]
    grey = np.repeat(boundary_map(masks)[..., None], 3, axis=3)  # patches that show their own boundary
    only_flip = RobustAugment(p=1.0, jitter=0.0, blur_sigma=(1e-3, 1e-3), downscale=(1.0, 1.0), p_jpeg=0.0)
    only_flip = dataclasses.replace(only_flip, noise_sigma=(0.0, 0.0))
    jitter = CropJitter((0.8, 1.3))
    ds = _dataset(items, cache_dir, xray=True, jitter=jitter, augment=only_flip)  # p=1: every draw flips
    unflipped = _dataset(items, cache_dir, xray=True, jitter=jitter)
    for seed in range(4):
        x, _, _, boundary = ds.finish(0, grey, 1, np.random.default_rng(seed), (0, 0, 224, 224), masks)
        plain, *_ = unflipped.finish(0, grey, 1, np.random.default_rng(seed), (0, 0, 224, 224), masks)
        assert torch.equal(x, plain.flip(2)) and not torch.equal(x, plain)  # jittered, then flipped
        assert boundary is not None and torch.equal(boundary, x[..., 0])  # the boundary went the same way
    reals = [it for it in items if it.label == 0]
    real, fake = _dataset(reals, cache_dir, pairs=True, p_sbi=0.5, xray=True, augment=RobustAugment(p=1.0))[0]
    assert real[3] is not None and real[3].max() == 0 and fake[3] is not None and fake[3].max() > 128


def test_collate_marks_which_boundaries_are_known() -> None:
    crops, zeros = torch.zeros(2, 8, 8, 3, dtype=torch.uint8), torch.zeros(2, 8, 8, dtype=torch.uint8)
    seam = torch.full((1, 8, 8), 200, dtype=torch.uint8)
    batch = [(crops, 0.0, 0, zeros), (crops, 1.0, 1, None), (crops[:1], 1.0, 2, seam)]  # real, genuine, SBI
    *_, xray = collate(batch, frames=2)
    assert xray is not None
    boundary, known = xray
    assert boundary.shape == (5, 8, 8) and known.tolist() == [True, True, False, False, True]
    assert boundary[4].min() == 200 and boundary[:4].max() == 0


def test_collate_runs_each_crop_once_and_repeats_stills() -> None:
    clip, still = torch.zeros(3, 8, 8, 3, dtype=torch.uint8), torch.ones(1, 8, 8, 3, dtype=torch.uint8)
    x, steps, y, idx, xray = collate([(clip, 1.0, 0, None), (still, 0.0, 4, None)], frames=4)
    assert x.shape == (4, 8, 8, 3)  # 3 clip crops + 1 still: the CNN sees every crop once
    assert steps.tolist() == [[0, 1, 2, 0], [3, 3, 3, 3]]  # a short clip loops, a still repeats
    assert y.tolist() == [1.0, 0.0] and idx.tolist() == [0, 4] and xray is None


def _items(labels: list[int], origin: str = "o") -> list[TrackItem]:
    lm = np.zeros((4, 5, 2), np.float32)
    return [TrackItem(f"{origin}{i}", lab, origin, 0, "f", lm) for i, lab in enumerate(labels)]


def test_oversampling_balances_classes_and_pos_weight_accounts_for_it() -> None:
    items = _items([0] * 90 + [1] * 10)
    drawn = [items[i].label for _ in range(20) for i in class_balanced_sampler(items, seed=_)]
    assert 0.45 < np.mean(drawn) < 0.55
    assert expected_positive_rate(items, oversample=True, p_sbi=0.0) == pytest.approx(0.5)  # pos_weight 1
    assert expected_positive_rate(items, oversample=False, p_sbi=0.0) == pytest.approx(0.1)  # -> pos_weight 9
    assert expected_positive_rate(_items([0] * 8), oversample=True, p_sbi=0.5) == 0.5  # SBI-only
    assert expected_positive_rate(_items([0] * 8), oversample=True, p_sbi=0.3) == 0.3  # --p-sbi as given


def test_every_family_shows_real_and_fake_equally_often_whatever_its_sources() -> None:
    timit = [TrackItem(f"t{i}", i % 2, ["timit/real", "timit/fake"][i % 2], 0, "f", None) for i in range(40)]
    items = timit + _items([0] * 200, "faces/dlib") + _items([0] * 5, "videos/real")
    cells = sampling_cells(items)
    assert set(cells) == {"timit:0", "timit:1", "faces:0", "videos:0"}
    p = sbi_probabilities(items, 0.3)
    assert p[0] == 0.3 and p[1] == 0.0 and p[40] == 0.5  # TIMIT real, TIMIT fake, a real-only family
    w = sampling_weights(items, family_weights={"timit": 2.0}, p_sbi=0.3)
    fake = np.where([it.label for it in items], 1.0, p)  # P(FAKE) of a draw of each item
    for family, weight in (("timit", 2.0), ("faces", 1.0), ("videos", 1.0)):
        mine = np.array([c.startswith(family) for c in cells])
        assert w[mine].sum() == pytest.approx(weight / 4)  # families by weight, however many items
        assert np.dot(w[mine], fake[mine]) / w[mine].sum() == pytest.approx(0.5)  # half FAKE inside each
    assert expected_positive_rate(items, True, 0.3, {"timit": 2.0}) == pytest.approx(0.5)
    assert sbi_probabilities(items, 0.9)[0] == 0.45  # genuine fakes keep a share of their family


def test_normalisation_matches_the_serving_runtime() -> None:
    """Training batches ([B, T, S, S, 3], `Run.prep`) are normalised as the classifier normalises crops."""
    model, config = create_model("mobilenetv3_lstm", input_size=32, mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.4))
    clf = TrackClassifier(LoadedModel.in_memory(model, config))
    crops = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    ours = config.normalize(torch.from_numpy(crops)[None])[0]  # [3, 3, 32, 32]
    torch.testing.assert_close(ours, clf.preprocess(crops), rtol=0, atol=0)
    expected = (crops[0, 5, 7, 2] / 255 - 0.3) / 0.4  # channel 2 of pixel (5, 7) of crop 0
    assert ours[0, 2, 5, 7].item() == pytest.approx(expected, abs=1e-5)
