"""The inference runtime's backends: same answers as eager fp32, derived files cached per checkpoint, and
`auto` only taking an approximate backend after a recorded validation. Correctness only, never timed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_detect.faces import CropSpec, FaceSpec
from deepfake_detect.inference import cache as rc
from deepfake_detect.inference import runtime as rt
from deepfake_detect.inference.calibration_data import sample_face_crops
from deepfake_detect.inference.runtime import TrackClassifier
from deepfake_detect.inference.validation import compare_backends, record_validation
from deepfake_detect.models import create_model, load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """resnet18_lstm at 64 px with BN statistics moved off their defaults (so they matter)."""
    torch.manual_seed(3)
    model, config = create_model("resnet18_lstm", input_size=64)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return save_checkpoint(model, config, tmp_path_factory.mktemp("rt") / "small.safetensors")


@pytest.fixture(scope="module")
def face_tracks() -> list[np.ndarray]:
    """Face crops made as serving makes them (MTCNN + crop), from synthetic frames: 2 tracks of 6."""
    crops = sample_face_crops(FaceSpec(crop=CropSpec(size=64)), n=12, seed=123)
    return [crops[:6], crops[6:]]


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime-cache")


@pytest.mark.parametrize(
    ("backend", "tolerance"),
    [
        ("torch", 1e-6),
        ("onnx", 1e-4),
        ("torch-bf16", 0.02),
        pytest.param("onnx-int8", 0.02, marks=pytest.mark.slow),
    ],
)
def test_backend_matches_eager_fp32(small_checkpoint, face_tracks, cache_root, backend, tolerance) -> None:
    loaded = load_checkpoint(small_checkpoint)
    clf = TrackClassifier(loaded, runtime=backend, cache_dir=cache_root)
    assert clf.backend == backend, clf.backend_note
    diff = compare_backends(clf, clf._cnn, face_tracks)
    assert diff["max_prob_diff"] <= tolerance, diff
    assert diff["crops"] == 12


def test_fp32_export_is_exact_enough_on_logits(small_checkpoint, face_tracks, cache_root) -> None:
    loaded = load_checkpoint(small_checkpoint)
    ref = TrackClassifier(loaded).score_tracks(face_tracks)
    got = TrackClassifier(loaded, runtime="onnx", cache_dir=cache_root).score_tracks(face_tracks)
    for (a, fa), (b, fb) in zip(ref, got, strict=True):
        assert abs(a - b) < 1e-3 and np.abs(fa - fb).max() < 1e-3


def test_derived_files_are_cached_by_sha256_and_reused(small_checkpoint, cache_root, monkeypatch) -> None:
    loaded = load_checkpoint(small_checkpoint)
    TrackClassifier(loaded, runtime="onnx-int8", cache_dir=cache_root)  # derived (or already there)
    folder = cache_root / loaded.sha256
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["sha256"] == loaded.sha256 and {"onnx", "onnx-int8"} <= meta["derived"].keys()
    assert meta["derived"]["onnx-int8"]["calibration"]["crops"] > 0

    def no_derivation(*args, **kwargs):
        raise AssertionError("derived again instead of reusing the cache")

    monkeypatch.setattr(rt, "export_onnx", no_derivation)
    monkeypatch.setattr(rt, "quantize_int8", no_derivation)
    again = TrackClassifier(load_checkpoint(small_checkpoint), runtime="onnx-int8", cache_dir=cache_root)
    assert again.backend == "onnx-int8"


def test_cache_goes_next_to_the_checkpoint_else_to_the_user_cache(small_checkpoint, tmp_path, monkeypatch):
    loaded = load_checkpoint(small_checkpoint)
    assert rc.cache_dir_for(loaded) == small_checkpoint.parent / rc.CACHE_FOLDER / loaded.sha256
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    real_writable = rc._writable
    monkeypatch.setattr(rc, "_writable", lambda f: rc.CACHE_FOLDER not in str(f) and real_writable(f))
    assert rc.cache_dir_for(loaded) == tmp_path / "xdg" / "deepfake_detect" / loaded.sha256


def test_auto_is_fp32_until_int8_is_validated(small_checkpoint, cache_root, tmp_path) -> None:
    loaded = load_checkpoint(small_checkpoint)
    TrackClassifier(loaded, runtime="onnx-int8", cache_dir=cache_root)  # derived once per module
    shutil.copytree(cache_root / loaded.sha256, tmp_path / loaded.sha256)  # validations stay local
    clf = TrackClassifier(loaded, runtime="auto", cache_dir=tmp_path)
    assert clf.backend == "onnx" and "no passed int8/bf16 validation" in clf.backend_note
    int8 = TrackClassifier(loaded, runtime="onnx-int8", cache_dir=tmp_path)
    record = record_validation(int8, "onnx-int8", 0.90, 0.80, 0.002, "test data")  # AUC drop too big
    assert not record["passed"]
    assert TrackClassifier(loaded, runtime="auto", cache_dir=tmp_path).backend == "onnx"
    assert record_validation(int8, "onnx-int8", 0.90, 0.898, 0.004, "test data")["passed"]
    chosen = TrackClassifier(loaded, runtime="auto", cache_dir=tmp_path)
    # Now a candidate: auto times both on this machine and keeps the faster (int8 for real models).
    assert set(chosen.speed) == {"onnx-int8", "onnx"} and chosen.backend == max(
        chosen.speed, key=chosen.speed.get
    )
    assert chosen.describe().validated["onnx-int8"]["passed"]


def test_unbuildable_backend_falls_back_with_the_reason(small_checkpoint, tmp_path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(rt, "export_onnx", broken)
    clf = TrackClassifier(load_checkpoint(small_checkpoint), runtime="onnx", cache_dir=tmp_path)
    assert clf.backend == "torch" and "exporter exploded" in clf.describe().note


def test_released_torch_cnn_and_warmup(small_checkpoint, cache_root) -> None:
    loaded = load_checkpoint(small_checkpoint)
    clf = TrackClassifier(loaded, runtime="onnx", cache_dir=cache_root, release_torch_cnn=True)
    clf.warmup()
    assert sum(p.numel() for p in loaded.model.cnn.parameters()) == 0  # the ONNX graph serves it
    assert len(clf.score_tracks([np.zeros((3, 64, 64, 3), np.uint8)])[0].frame_logits) == 3


def test_unknown_runtime_is_refused(small_checkpoint) -> None:
    with pytest.raises(ValueError, match="unknown runtime"):
        TrackClassifier(load_checkpoint(small_checkpoint), runtime="tensorrt")


def test_detection_threads_do_not_change_detections() -> None:
    """faces/detect.py splits frames over threads with one intra-op thread each: same boxes either way."""
    from deepfake_detect.faces import FaceDetector
    from deepfake_detect.inference.sample_faces import render_frames

    frames = render_frames(480, 270, n_frames=6, faces=2)
    one = FaceDetector(threads=1).detect_images(frames)
    two = FaceDetector(threads=2, batch_size=2).detect_images(frames)
    assert [len(d) for d in one] == [len(d) for d in two] == [2] * 6
    for a, b in zip(one, two, strict=True):
        for da, db in zip(a, b, strict=True):
            np.testing.assert_allclose(da.box, db.box, atol=1e-3)
    assert torch.get_num_threads() >= 1  # the caller's thread count is restored, not left at 1
