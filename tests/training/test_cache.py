"""`prepare`: faces cropped once into the cache, exactly as the server crops them; resumable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepfake_detect.faces import CropSpec, FaceDetector, build_tracks, crop_track
from deepfake_detect.media import sample_frames
from deepfake_detect.training import cache as cache_mod
from deepfake_detect.training.cache import CacheSpec, frames_from_images, load_track, prepare, read_index
from deepfake_detect.training.datasets import discover, discover_all


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, mixed_dir: Path, photo_dir: Path) -> tuple[Path, dict]:
    cache_dir = tmp_path_factory.mktemp("cache")
    sources = discover_all([mixed_dir, photo_dir])
    return cache_dir, prepare(sources, cache_dir, CacheSpec(frames=8), workers=1, progress=False)


def test_index_records_every_source_with_status(prepared, mixed_dir: Path) -> None:
    _, records = prepared
    by_name = {Path(k).name: r for k, r in records.items()}
    assert by_name["broken.mp4"].status == "error" and "CorruptMedia" in by_name["broken.mp4"].error
    assert by_name["noface.mp4"].status == "no_face" and by_name["noface.mp4"].tracks == []
    for name, kind, n in (("clip.mp4", "video", 6), ("sent1", "frames", 5), ("person.jpg", "image", 1)):
        rec = by_name[name]
        assert rec.status == "ok" and rec.source.kind == kind and rec.source.label == 0, name
        (track,) = rec.tracks
        assert len(track.positions) == len(track.boxes) == len(track.scores) == n
        assert track.landmarks.shape == (n, 5, 2)
    assert by_name["sent1"].frame_index == [10, 11, 12, 13, 14]  # numbered frame files keep their number
    assert by_name["sent1"].source.group.endswith(":spk1")
    assert read_index(prepared[0]) == records  # the typed records survive index.jsonl


def test_cached_crops_are_the_servers_crops(prepared, mixed_dir: Path) -> None:
    cache_dir, records = prepared
    rec = records[str(mixed_dir / "real" / "clip.mp4")]
    crops = load_track(cache_dir, rec.tracks[0], 224)  # [T, 224, 224, 3]
    video = sample_frames(mixed_dir / "real" / "clip.mp4", 8)
    (track,) = build_tracks(FaceDetector().detect(video.frames))
    expected = crop_track(video.frames, track, CropSpec(size=224, scale=1.3))
    np.testing.assert_array_equal(crops, expected)  # PNG is lossless
    # landmarks are stored in crop pixels: the eyes sit in the upper half, left of right
    lm = rec.tracks[0].landmarks[0]
    assert 0 < lm[0, 0] < lm[1, 0] < 224 and lm[0, 1] < 112


def test_prepare_resumes_without_redoing_work(prepared, mixed_dir, photo_dir, monkeypatch) -> None:
    cache_dir, records = prepared
    lines = (cache_dir / "index.jsonl").read_text().splitlines()
    calls: list[str] = []
    real = cache_mod.process_source

    def counting(source, *args):
        calls.append(Path(source.path).name)
        return real(source, *args)

    monkeypatch.setattr(cache_mod, "process_source", counting)
    again = prepare(discover_all([mixed_dir, photo_dir]), cache_dir, CacheSpec(frames=8), 1, False)
    assert calls == ["broken.mp4"]  # only the failed source is retried
    assert again.keys() == records.keys()
    # a fresh run's records are what a rerun reads back (splits and SBI masks depend on them)
    assert all(again[k] == records[k] for k in records) and again != {}
    assert len((cache_dir / "index.jsonl").read_text().splitlines()) == len(lines) + 1


def test_index_survives_a_torn_last_line(prepared) -> None:
    cache_dir, records = prepared
    copy = cache_dir.parent / "torn"
    copy.mkdir(exist_ok=True)
    text = (cache_dir / "index.jsonl").read_text()
    (copy / "index.jsonl").write_text(text + '{"key": "half')
    assert read_index(copy).keys() == read_index(cache_dir).keys()


def test_cache_refuses_another_spec(prepared, photo_dir: Path) -> None:
    cache_dir, _ = prepared
    with pytest.raises(ValueError, match="prepared with"):
        prepare(discover(photo_dir), cache_dir, CacheSpec(frames=8, size=112), 1, False)
    assert json.loads((cache_dir / "spec.json").read_text())["size"] == 224


def test_frames_from_images_without_numbers(tmp_path: Path, photo_dir: Path) -> None:
    frames = frames_from_images([photo_dir / "person.jpg"])
    assert frames[0].index == 0 and frames[0].image.shape == (120, 160, 3)
    assert frames[0].image.dtype == np.uint8
