"""The evidence caches compute once and forget deleted jobs; explanations work when serving has released
its PyTorch CNN for ONNX Runtime (a fresh copy of the checkpoint is loaded for Grad-CAM)."""

from __future__ import annotations

import threading
import time

import numpy as np

from deepfake_detect import Detector, Settings, load_checkpoint
from deepfake_detect.evidence import EvidenceService
from deepfake_detect.evidence.service import LruCache
from deepfake_detect.inference.backends import ReleasedCNN


def test_lru_computes_each_value_once_under_concurrent_requests():
    cache: LruCache[int] = LruCache(2)
    calls: list[str] = []

    def slow(key: str) -> int:
        calls.append(key)
        time.sleep(0.05)
        return len(calls)

    threads = [threading.Thread(target=cache.get, args=("a", lambda: slow("a"))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"]
    cache.get("b", lambda: slow("b"))
    cache.get("c", lambda: slow("c"))  # evicts "a", the least recently used
    assert cache.get("a", lambda: slow("a")) == 4 and len(cache) == 2  # computed again; "b" evicted
    cache.drop(lambda key: key == "a")
    assert len(cache) == 1 and cache.get("c", lambda: -1) == 3  # "c" is still the value computed first


def test_grad_cam_reloads_a_released_cnn(tiny_checkpoint, tmp_path):
    detector = Detector(
        load_checkpoint(tiny_checkpoint),
        Settings(runtime="onnx", frames_per_video=8, warmup=False, runtime_cache_dir=tmp_path),
    )
    assert detector.classifier.backend == "onnx"
    assert isinstance(detector.loaded.model.cnn, ReleasedCNN)  # serving dropped its PyTorch weights
    crops = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    cam = EvidenceService().grad_cam(detector)(crops, positions=[2])
    served = detector.classifier.score_tracks([crops])[0].frame_logits  # ONNX Runtime
    np.testing.assert_allclose(cam.frame_logits, served, atol=1e-3)
    assert cam.heatmaps.shape == (1, 64, 64)
