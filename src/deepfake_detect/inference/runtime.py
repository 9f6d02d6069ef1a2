"""Inference runtime: preprocessing and batched forward passes for a loaded model, on a choice of backends.

Every crop of a video goes through the CNN in one batched pass (chunked to bound memory); the BiLSTM
then runs once per face track on its slice of the features, in fp32 PyTorch (it is ~1% of the work).
The CNN runs on one of these backends:

========== ================================================================= =========================
backend    what                                                              numerics vs eager fp32
========== ================================================================= =========================
torch      eager PyTorch fp32, channels-last (oneDNN)                        reference
torch-bf16 eager PyTorch, bf16 autocast, channels-last (AVX512-BF16 / AMX)   ~1e-2 on logits
onnx       ONNX Runtime fp32, graph exported at load time                    ~1e-5
onnx-int8  ONNX Runtime, static int8 (QDQ, per-channel weights), calibrated  ~1e-2 on logits
           on face crops the pipeline itself produces
========== ================================================================= =========================

`runtime="auto"` takes the fastest backend that is *known to be safe for this checkpoint*. `onnx` (fp32,
exact to ~1e-5) is always safe. `onnx-int8` and `torch-bf16` are candidates only once a validation on
labelled videos, recorded for this checkpoint's sha256 (and this int8 file), found the video AUC within
`AUC_TOLERANCE` of fp32 and every video probability within `PROB_TOLERANCE` (`record_validation`,
written by `deepfake-detect bench --accuracy`). With more than one candidate, a short timing at load
picks the fastest: the ranking depends on the architecture and the CPU (here, with AMX, bf16 is ~1.7x
ONNX fp32 for ResNet50 at 224 px and ~1.8x for ResNet18 at 160 px; int8 ~2.8x). `torch` is the
fallback when ONNX Runtime cannot be used.

Derived files (ONNX graphs, the int8 model and a `meta.json` with the checks) are cached next to the
checkpoint in `.deepfake_detect_cache/<sha256>/`, or in the user cache (`$XDG_CACHE_HOME/deepfake_detect`)
when that folder is read-only, so a seed `.pth` and our `.safetensors` get the same fast path without
hand-made files.

>>> clf = TrackClassifier(load_checkpoint("model.safetensors"), runtime="auto")  # doctest: +SKIP
>>> clf.backend  # doctest: +SKIP
'onnx'
>>> track_logits, frame_logits = clf.score_tracks([crops_a, crops_b])[0]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..models.checkpoint import LoadedModel, file_sha256
from .backends import OnnxFeatures, ReleasedCNN, TorchFeatures, export_onnx, quantize_int8
from .cache import RuntimeCache, cache_dir_for
from .calibration_data import folder_face_crops, synthetic_face_crops

log = logging.getLogger("deepfake_detect.runtime")

BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")
RUNTIMES = ("auto", *BACKENDS)
APPROXIMATE = ("onnx-int8", "torch-bf16")  # need a recorded validation before `auto` picks them
PROB_TOLERANCE = 0.01  # max |P_fp32 - P_backend| per track and per frame
AUC_TOLERANCE = 0.005  # max AUC(fp32) - AUC(backend) on labelled videos


# ------------------------------------------------------------------------------------------ classifier


class TrackClassifier:
    """Scores face tracks with a loaded CNN+BiLSTM on the chosen backend.

    `runtime`: one of `RUNTIMES`. The default, "torch", is the eager fp32 reference (what training and
    evaluation use); serving passes the RUNTIME setting. `threads`: intra-op threads of the ONNX Runtime
    session (default: torch's). `cache_dir`: root for derived files (default: next to the checkpoint).
    `calibration_dir`: images/videos with faces for int8 calibration (default: synthetic face clips).
    `release_torch_cnn`: drop the PyTorch CNN weights once an ONNX backend is up (serving; it shares
    `loaded.model`, so only for a model loaded for this classifier alone). `chunk_size` 16: as fast as
    32 per image here, with half the activation memory.
    A backend that cannot be built falls back to the next safe one, with the reason in `backend_note`.

    >>> clf = TrackClassifier(load_checkpoint("model.safetensors"))  # doctest: +SKIP
    >>> track_logits, frame_logits = clf.score_tracks([crops_a, crops_b])  # doctest: +SKIP
    """

    def __init__(
        self,
        loaded: LoadedModel,
        chunk_size: int = 16,
        runtime: str = "torch",
        threads: int | None = None,
        cache_dir: str | os.PathLike | None = None,
        calibration_dir: str | os.PathLike | None = None,
        release_torch_cnn: bool = False,
    ):
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
        self.loaded = loaded
        self.model = loaded.model.eval()
        self.config = loaded.config
        self.chunk_size = chunk_size
        self.requested = runtime
        self.threads = threads or torch.get_num_threads()
        self._cache_root = cache_dir
        self._calibration_dir = calibration_dir
        self._mean = torch.tensor(self.config.mean).view(1, 3, 1, 1) * 255.0
        self._std = torch.tensor(self.config.std).view(1, 3, 1, 1) * 255.0
        self.cache: RuntimeCache | None = None
        self.backend_note = ""
        self.speed: dict[str, float] = {}  # images/s of each candidate, when `auto` had to choose
        self.backend, self._cnn = self._select(runtime)
        if release_torch_cnn and self.backend.startswith("onnx"):
            # Serving on ONNX Runtime: the PyTorch copy of the CNN is dead weight (~95 MB for ResNet50).
            self.model.cnn = ReleasedCNN()

    # --- backend selection -------------------------------------------------------------------------

    def _runtime_cache(self) -> RuntimeCache:
        if self.cache is None:
            self.cache = RuntimeCache(cache_dir_for(self.loaded, self._cache_root), self.loaded)
        return self.cache

    def _select(self, runtime: str) -> tuple[str, Callable[[torch.Tensor], torch.Tensor]]:
        if runtime != "auto":
            return self._first_that_builds([runtime, *(b for b in ("onnx", "torch") if b != runtime)])
        safe = [b for b in APPROXIMATE if self._validated(b)]
        self.backend_note = (
            f"auto: validated for this checkpoint: {', '.join(safe)}; fastest of them and onnx"
            if safe
            else "auto: no passed int8/bf16 validation recorded for this checkpoint, so fp32"
        )
        built = {}
        for backend in [*safe, "onnx"]:
            try:
                built[backend] = self._build(backend)
            except Exception as e:  # export, quantization or ORT failures: fall back, say why
                self._note_failure(backend, e)
        if len(built) > 1:  # measured, not assumed: the ranking depends on the model and the CPU
            self.speed = {b: round(self._images_per_second(fn), 1) for b, fn in built.items()}
            best = max(self.speed, key=self.speed.get)
            return best, built[best]
        if built:
            return next(iter(built.items()))
        return self._first_that_builds(["torch"])

    def _first_that_builds(self, order: list[str]) -> tuple[str, Callable[[torch.Tensor], torch.Tensor]]:
        for backend in order:
            try:
                return backend, self._build(backend)
            except Exception as e:  # export, quantization or ORT failures: fall back, say why
                self._note_failure(backend, e)
        raise AssertionError("unreachable: the torch backend always builds")

    def _note_failure(self, backend: str, e: Exception) -> None:
        log.warning("runtime backend %s unavailable (%s: %s); falling back", backend, type(e).__name__, e)
        self.backend_note += f"; {backend} failed: {type(e).__name__}: {e}"

    def _images_per_second(self, cnn: Callable, n: int = 8, repeats: int = 2) -> float:
        s = self.config.input_size
        x = self.preprocess(np.full((n, s, s, 3), 128, np.uint8))
        with torch.inference_mode():
            cnn(x)  # first call: kernel selection, arena
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                cnn(x)
                best = min(best, time.perf_counter() - t0)
        return n / best

    def _validated(self, backend: str) -> bool:
        """A passed validation of exactly the derived file now in the cache (int8), or of bf16."""
        try:
            cache = self._runtime_cache()
            meta = cache.meta()
        except OSError:
            return False
        record = meta["validated"].get(backend)
        if not (record and record.get("passed")):
            return False
        if backend == "torch-bf16":
            return True
        derived = meta["derived"].get(backend) or {}
        return cache.path(backend).is_file() and record.get("file_sha256") == derived.get("file_sha256")

    def _build(self, backend: str) -> Callable[[torch.Tensor], torch.Tensor]:
        if backend in ("torch", "torch-bf16"):
            return TorchFeatures(self.model, bf16=backend == "torch-bf16")
        cache = self._runtime_cache()
        path = cache.path(backend)
        if not path.is_file() or cache.meta()["derived"].get(backend) is None:
            self._derive(backend)
        return OnnxFeatures(path, self.threads)

    def _derive(self, backend: str) -> None:
        cache = self._runtime_cache()
        size = self.config.input_size
        t0 = time.perf_counter()
        fp32 = cache.path("onnx")
        if not fp32.is_file() or cache.meta()["derived"].get("onnx") is None:
            export_onnx(self.model, size, fp32)
            cache.update("derived", "onnx", self._check("onnx", OnnxFeatures(fp32, self.threads), t0))
        if backend == "onnx-int8":
            t0 = time.perf_counter()
            calibration, source = self.calibration_crops()
            quantize_int8(fp32, self.preprocess(calibration).numpy(), cache.path(backend))
            record = self._check(backend, OnnxFeatures(cache.path(backend), self.threads), t0)
            record["calibration"] = {"source": source, "crops": len(calibration)}
            record["file_sha256"] = file_sha256(cache.path(backend))
            cache.update("derived", backend, record)
        log.info("derived %s for %s in %s", backend, self.loaded.model_id, cache.folder)

    def calibration_crops(self) -> tuple[np.ndarray, str]:
        size, scale = self.config.input_size, self.config.crop_scale
        if self._calibration_dir:
            return folder_face_crops(self._calibration_dir, size, scale), str(self._calibration_dir)
        return synthetic_face_crops(size, scale), "synthetic astronaut clips (deepfake_detect.synthetic)"

    def _check(self, backend: str, features: Callable, t0: float) -> dict:
        """Agreement with eager fp32: on held-out face crops (other synthetic seeds than calibration) for
        int8, on random pixels for the fp32 export (same arithmetic; no need to pay for MTCNN)."""
        s = self.config.input_size
        if backend == "onnx":
            crops = np.random.default_rng(0).integers(0, 256, (8, s, s, 3), dtype=np.uint8)
        else:
            crops = synthetic_face_crops(s, self.config.crop_scale, n=24, seed=7)
        tracks = [crops[i : i + 8] for i in range(0, len(crops), 8)]
        diff = compare_backends(self, features, tracks)
        diff.update(derive_s=round(time.perf_counter() - t0, 2), created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        if diff["max_prob_diff"] > PROB_TOLERANCE:
            log.warning("%s differs from fp32 by up to %.4f in P(fake)", backend, diff["max_prob_diff"])
        return diff

    def describe(self) -> dict:
        """For /info and the benchmark: the backend in use and why."""
        meta = {}
        if self.cache is not None:
            try:
                m = self.cache.meta()
                meta = {"cache": str(self.cache.folder), "checks": m["derived"], "validated": m["validated"]}
            except OSError:
                pass
        return {
            "requested": self.requested,
            "backend": self.backend,
            "note": self.backend_note.lstrip("; "),
            "threads": self.threads,
            **({"speed_img_s": self.speed} if self.speed else {}),
            **meta,
        }

    # --- inference ---------------------------------------------------------------------------------

    def preprocess(self, crops: np.ndarray) -> torch.Tensor:
        """[N, H, W, 3] uint8 RGB at the model's input size -> [N, 3, H, W] float32 normalised."""
        x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
        return (x - self._mean) / self._std

    @torch.inference_mode()
    def features(self, crops: np.ndarray, cnn: Callable | None = None) -> torch.Tensor:
        """[N, H, W, 3] uint8 -> [N, C] CNN features, in chunks of `chunk_size`."""
        cnn = cnn or self._cnn
        parts = [
            cnn(self.preprocess(crops[i : i + self.chunk_size]))
            for i in range(0, len(crops), self.chunk_size)
        ]
        return torch.cat(parts).float()

    @torch.inference_mode()
    def score_tracks(
        self, tracks: list[np.ndarray], cnn: Callable | None = None
    ) -> list[tuple[float, np.ndarray]]:
        """Crops per track ([T_i, H, W, 3] uint8) -> (track logit, per-frame logits [T_i]) per track."""
        if not tracks:
            return []
        feats = self.features(np.concatenate(tracks), cnn)  # [sum T_i, C]
        results = []
        for part in torch.split(feats, [len(t) for t in tracks]):
            track_logit, frame_logits = self.model.temporal(part.unsqueeze(0))  # [1], [1, T]
            results.append((float(track_logit[0]), frame_logits[0].numpy().astype(np.float32)))
        return results

    def warmup(self, batch: int = 4) -> None:
        """One forward pass on a dummy batch: kernels chosen, arenas and weights paged in before traffic."""
        s = self.config.input_size
        self.score_tracks([np.full((batch, s, s, 3), 128, np.uint8)])


# ------------------------------------------------------------------------------------------ validation


def compare_backends(clf: TrackClassifier, features: Callable, tracks: Sequence[np.ndarray]) -> dict:
    """Max |P_fp32 - P_backend| per track and per frame; fp32 is eager PyTorch."""
    ref = clf.score_tracks(list(tracks), cnn=TorchFeatures(clf.model))
    got = clf.score_tracks(list(tracks), cnn=features)
    t = clf.config.temperature

    def p(x):
        return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64) / t))

    track_diff = max(abs(float(p(a[0]) - p(b[0]))) for a, b in zip(ref, got, strict=True))
    frame_diff = max(float(np.abs(p(a[1]) - p(b[1])).max()) for a, b in zip(ref, got, strict=True))
    logit_diff = max(float(np.abs(a[1] - b[1]).max()) for a, b in zip(ref, got, strict=True))
    return {
        "max_prob_diff": round(max(track_diff, frame_diff), 6),
        "max_track_prob_diff": round(track_diff, 6),
        "max_logit_diff": round(logit_diff, 6),
        "tracks": len(tracks),
        "crops": int(sum(len(x) for x in tracks)),
    }


def record_validation(
    clf: TrackClassifier, backend: str, auc_fp32: float, auc_backend: float, max_prob_diff: float, data: str
) -> dict:
    """Store the result of a labelled-data validation of `backend` for this checkpoint; `auto` reads it."""
    record = {
        "auc_fp32": round(auc_fp32, 5),
        "auc": round(auc_backend, 5),
        "auc_drop": round(auc_fp32 - auc_backend, 5),
        "max_prob_diff": round(max_prob_diff, 5),
        "data": data,
        "passed": bool(auc_fp32 - auc_backend <= AUC_TOLERANCE and max_prob_diff <= PROB_TOLERANCE),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    cache = clf._runtime_cache()
    if backend in ("onnx", "onnx-int8"):
        record["file_sha256"] = (cache.meta()["derived"].get(backend) or {}).get("file_sha256")
    cache.update("validated", backend, record)
    return record
