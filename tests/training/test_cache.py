"""`prepare`: faces cropped once into the cache, exactly as the server crops them; resumable."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_detect.faces import CropSpec, FaceDetector, build_tracks, crop_track
from deepfake_detect.media import sample_frames
from deepfake_detect.training import cache as cache_mod
from deepfake_detect.training.cache import (
    CacheSpec,
    frames_from_images,
    load_frames,
    load_track,
    prepare,
    read_index,
)
from deepfake_detect.training.datasets import discover, discover_all, match_frame_sizes
from deepfake_detect.training.records import CacheRecord


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


def _frame_folder_pairs(root: Path, real_wh: tuple[int, int], fake_wh: tuple[int, int]) -> Path:
    """TIMIT-like real/ + fake/ frame folders of noise frames at the given (w, h)."""
    rng = np.random.default_rng(0)
    for side, (w, h) in (("real", real_wh), ("fake", fake_wh)):
        for k in range(2):
            folder = root / side / "spk0" / f"sent{k}"
            folder.mkdir(parents=True)
            for f in range(3):
                cv2.imwrite(str(folder / f"{f:03d}.png"), rng.integers(0, 256, (h, w, 3), np.uint8))
    return root


def test_matched_frame_sizes_resample_both_sides_alike(tmp_path: Path, photo_dir: Path) -> None:
    root = _frame_folder_pairs(tmp_path / "timit", real_wh=(64, 48), fake_wh=(40, 40))
    sources = discover(root)
    assert {s.frame_sizes for s in sources} == {None}  # discovery alone changes nothing
    matched = match_frame_sizes(sources + discover(photo_dir))
    by_kind = {s.kind: s for s in matched}
    assert by_kind["image"].frame_sizes is None  # photos are left as they are
    assert {s.frame_sizes for s in matched if s.kind == "frames"} == {((40, 40), (64, 48))}
    # Both sides come out at the reals' size; a real frame lost detail through 40x40, as the fakes did.
    assert {load_frames(s, 2)[0].image.shape for s in matched if s.kind == "frames"} == {(48, 64, 3)}
    real = next(s for s in matched if s.label == 0)
    as_read = load_frames(dataclasses.replace(real, frame_sizes=None), 1)[0].image
    resampled = load_frames(real, 1)[0].image
    assert np.abs(resampled.astype(int) - as_read).mean() > 10
    # The plan survives the cache's index.
    rec = CacheRecord(real, "no_face")
    assert CacheRecord.from_json(json.loads(json.dumps(rec.to_json()))) == rec
    # Frames of one size on both sides: nothing to match.
    alike = _frame_folder_pairs(tmp_path / "alike", real_wh=(40, 40), fake_wh=(40, 40))
    assert {s.frame_sizes for s in match_frame_sizes(discover(alike))} == {None}


def test_matched_frame_sizes_belong_to_the_cache(prepared, tmp_path: Path) -> None:
    plain, _ = prepared
    with pytest.raises(ValueError, match="prepared with"):  # a plain cache cannot turn matched halfway
        cache_mod._check_spec(plain, CacheSpec(frames=8, match_frame_sizes=True))
    matched = tmp_path / "matched"
    cache_mod._check_spec(matched, CacheSpec(frames=8, match_frame_sizes=True, dlib=True))
    # train and evaluate ask with the defaults, and get the cache as it was made.
    assert cache_mod._check_spec(matched, CacheSpec(frames=8)).match_frame_sizes


def test_prepare_command_records_matched_frame_sizes(tmp_path: Path) -> None:
    root = _frame_folder_pairs(tmp_path / "timit", real_wh=(64, 48), fake_wh=(40, 40))
    cache_dir = tmp_path / "cache"
    command = [sys.executable, "-m", "deepfake_detect.training", "prepare", str(root), f"--cache={cache_dir}"]
    flags = ["--frames", "2", "--workers", "1", "--no-progress", "--match-frame-sizes"]
    subprocess.run([*command, *flags], capture_output=True, check=True)
    assert json.loads((cache_dir / "spec.json").read_text())["match_frame_sizes"] is True
    rows = [json.loads(line) for line in (cache_dir / "index.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["frame_sizes"] == [[40, 40], [64, 48]] for r in rows)
