"""Training samples: windows of cached tracks, track-consistent SBI, sampling and loss weighting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detect.faces import CropSpec
from deepfake_detect.inference.runtime import TrackClassifier
from deepfake_detect.models import LoadedModel, create_model
from deepfake_detect.training.augment import RobustAugment
from deepfake_detect.training.cache import CacheSpec, prepare
from deepfake_detect.training.datasets import discover
from deepfake_detect.training.samples import (
    TrackDataset,
    TrackItem,
    build_items,
    class_balanced_sampler,
    collate,
    expected_positive_rate,
    sampling_cells,
    sampling_weights,
    sbi_probabilities,
)


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
    x, y, i = _dataset(items, cache_dir, augment=RobustAugment(p=1.0))[1]
    assert x.shape == (4, 64, 64, 3) and x.dtype == torch.uint8 and i == 1
    assert y == items[1].label


def test_samples_are_deterministic_per_seed_and_epoch(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    a = _dataset(items, cache_dir, augment=RobustAugment(), p_sbi=0.5)
    b = _dataset(items, cache_dir, augment=RobustAugment(), p_sbi=0.5)
    assert all(torch.equal(a[i][0], b[i][0]) for i in range(len(items)))
    b.set_epoch(1)
    assert not all(torch.equal(a[i][0], b[i][0]) for i in range(len(items)))


def test_sbi_turns_a_real_track_into_a_consistent_fake(items_and_cache) -> None:
    items, cache_dir = items_and_cache
    real = next(i for i, it in enumerate(items) if it.label == 0)
    plain = _dataset(items, cache_dir, frames=6, input_size=224)[real]
    blended = _dataset(items, cache_dir, frames=6, input_size=224, p_sbi=1.0)[real]
    assert plain[1] == 0.0 and blended[1] == 1.0
    diff = (blended[0].float() - plain[0].float()).abs().mean(dim=(1, 2, 3))  # [T] per-frame change
    assert (diff > 0.5).all()  # every frame is blended ...
    assert float(diff.max() / diff.min()) < 3  # ... with one parameter draw (no flicker between frames)
    fake = next(i for i, it in enumerate(items) if it.label == 1)
    assert _dataset(items, cache_dir, p_sbi=1.0)[fake][1] == 1.0  # fakes stay fakes, untouched


def test_collate_cuts_to_the_shortest_sequence() -> None:
    a, b = torch.zeros(5, 8, 8, 3, dtype=torch.uint8), torch.ones(3, 8, 8, 3, dtype=torch.uint8)
    batch = [(a, 1.0, 0), (b, 0.0, 4)]
    x, y, idx = collate(batch)
    assert x.shape == (2, 3, 8, 8, 3) and y.tolist() == [1.0, 0.0] and idx.tolist() == [0, 4]


def _items(labels: list[int]) -> list[TrackItem]:
    lm = np.zeros((4, 5, 2), np.float32)
    return [TrackItem(str(i), lab, "o", 0, "f", lm) for i, lab in enumerate(labels)]


def test_oversampling_balances_classes_and_pos_weight_accounts_for_it() -> None:
    items = _items([0] * 90 + [1] * 10)
    drawn = [items[i].label for _ in range(20) for i in class_balanced_sampler(items, seed=_)]
    assert 0.45 < np.mean(drawn) < 0.55
    assert expected_positive_rate(items, oversample=True, p_sbi=0.0) == pytest.approx(0.5)  # pos_weight 1
    assert expected_positive_rate(items, oversample=False, p_sbi=0.0) == pytest.approx(0.1)  # -> pos_weight 9
    assert expected_positive_rate(_items([0] * 8), oversample=True, p_sbi=0.5) == 0.5  # SBI-only
    assert expected_positive_rate(_items([0] * 8), oversample=True, p_sbi=0.3) == 0.3  # --p-sbi as given


def test_sampling_balances_family_cells_so_a_fake_only_family_is_no_shortcut() -> None:
    lm = np.zeros((4, 5, 2), np.float32)
    timit = [TrackItem(f"t{i}", i % 2, ["timit/real", "timit/fake"][i % 2], 0, "f", lm) for i in range(40)]
    photos = [TrackItem(f"p{i}", 0, "faces/dlib", 0, "f", lm) for i in range(200)]
    video = [TrackItem("v", 0, "videos/real", i, "f", lm) for i in range(5)]
    items = timit + photos + video
    cells = sampling_cells(items)
    assert set(cells) == {"timit:0", "timit:1", "pool:0"}  # real-only families share one pool
    w = sampling_weights(items)
    for cell in set(cells):  # each cell drawn 1/3 of the time, however many items it holds
        assert sum(wi for wi, c in zip(w, cells, strict=True) if c == cell) == pytest.approx(1 / 3)
    p = sbi_probabilities(items, 0.3)
    assert p[0] == 0.3 and p[1] == 0.0 and p[40] == 0.5  # TIMIT real, TIMIT fake, a pooled photo
    # fakes: the TIMIT fake cell + 30 % of TIMIT reals + 50 % of the pool
    assert expected_positive_rate(items, True, 0.3) == pytest.approx((1 + 0.3 + 0.5) / 3)


def test_normalisation_matches_the_serving_runtime() -> None:
    """Training batches ([B, T, S, S, 3], `Run.prep`) are normalised as the classifier normalises crops."""
    model, config = create_model("mobilenetv3_lstm", input_size=32, mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.4))
    clf = TrackClassifier(LoadedModel.in_memory(model, config))
    crops = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    ours = config.normalize(torch.from_numpy(crops)[None])[0]  # [3, 3, 32, 32]
    torch.testing.assert_close(ours, clf.preprocess(crops), rtol=0, atol=0)
    expected = (crops[0, 5, 7, 2] / 255 - 0.3) / 0.4  # channel 2 of pixel (5, 7) of crop 0
    assert ours[0, 2, 5, 7].item() == pytest.approx(expected, abs=1e-5)
