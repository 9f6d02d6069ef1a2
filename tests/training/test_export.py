"""`export-cache`: a compact copy that training reads as it reads the original."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_detect.training.cache import CacheSpec, load_track, prepare, read_index, read_spec
from deepfake_detect.training.datasets import discover_all
from deepfake_detect.training.export import export_cache


@pytest.fixture(scope="module")
def original(tmp_path_factory, mixed_dir: Path, photo_dir: Path) -> Path:
    cache_dir = tmp_path_factory.mktemp("cache")
    spec = CacheSpec(frames=8, size=160, scale=3.0)  # wide patches: past the frame's edge somewhere
    prepare(discover_all([mixed_dir, photo_dir]), cache_dir, spec, 1, False)
    return cache_dir


def test_copy_keeps_every_record_with_fewer_smaller_patches(original: Path, tmp_path: Path) -> None:
    summary = export_cache(original, tmp_path / "copy", size=96, frames=2, quality=95, progress=False)
    before, after = read_index(original), read_index(tmp_path / "copy")
    assert after.keys() == before.keys() and summary["sources"] == len(before)
    assert read_spec(tmp_path / "copy") == CacheSpec(frames=8, size=96, scale=3.0)  # --cache-size 96
    for key, rec in before.items():
        assert after[key].status == rec.status and len(after[key].tracks) == len(rec.tracks)
        for old, new in zip(rec.tracks, after[key].tracks, strict=True):
            keep = slice((len(old) - len(new)) // 2, (len(old) - len(new)) // 2 + len(new))
            assert len(new) == min(2, len(old)) and new.positions == old.positions[keep]
            np.testing.assert_allclose(new.landmarks, old.landmarks[keep] * 96 / 160, atol=0.01)
            patches = load_track(tmp_path / "copy", new, 96)  # [t, 96, 96, 3]
            assert patches.shape == (len(new), 96, 96, 3)
            reference = load_track(original, old, 160)[keep]
            resized = np.stack([cv2.resize(p, (96, 96), interpolation=cv2.INTER_AREA) for p in reference])
            assert np.abs(patches.astype(int) - resized.astype(int)).mean() < 4  # JPEG only nudges it
    assert summary["strip_mb"] < 1


def test_padding_survives_jpeg_exactly(original: Path, tmp_path: Path) -> None:
    export_cache(original, tmp_path / "copy", size=160, frames=8, quality=75, fmt="jpg", progress=False)
    padded = 0
    for key, rec in read_index(tmp_path / "copy").items():
        for new, old in zip(rec.tracks, read_index(original)[key].tracks, strict=True):
            a, b = load_track(tmp_path / "copy", new, 160), load_track(original, old, 160)
            seen = b.any(axis=(0, 3))  # [P, P]
            rows, cols = np.nonzero(seen.any(axis=1))[0], np.nonzero(seen.any(axis=0))[0]
            shown = np.zeros_like(seen)
            shown[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = True
            assert not a[:, ~shown].any()  # padding past the frame's edge is still exactly zero
            assert np.abs(a.astype(int) - b.astype(int))[:, shown].mean() < 6
            padded += int((~shown).sum())
    assert padded > 0  # the fixture's faces reach the frame's edge somewhere


def test_export_refuses_a_non_empty_target(original: Path, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(ValueError, match="not empty"):
        export_cache(original, tmp_path / "x", size=96, frames=2)
