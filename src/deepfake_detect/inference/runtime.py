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
>>> logit, frame_logits = clf.score_tracks([crops_a, crops_b])[0]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import numpy as np
import torch

from ..config import Settings
from ..faces import FaceSpec
from ..hashing import file_sha256
from ..models.checkpoint import LoadedModel
from ..report import RuntimeInfo
from ..verdict import TrackScore
from .backends import OnnxFeatures, ReleasedCNN, TorchFeatures, export_onnx, quantize_int8
from .cache import RuntimeCache, cache_dir_for
from .calibration_data import folder_face_crops, sample_face_crops
from .validation import PROB_TOLERANCE, compare_backends

log = logging.getLogger("deepfake_detect.runtime")

BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")
RUNTIMES = ("auto", *BACKENDS)
APPROXIMATE = ("onnx-int8", "torch-bf16")  # need a recorded validation before `auto` picks them
Features = Callable[[torch.Tensor], torch.Tensor]  # [N, 3, S, S] normalised crops -> [N, C]


# ------------------------------------------------------------------------------------------ classifier


class TrackClassifier:
    """Scores face tracks with a loaded CNN+BiLSTM on the chosen backend.

    `runtime`: one of `RUNTIMES`. The default, "torch", is the eager fp32 reference (what training and
    evaluation use); serving passes the RUNTIME setting. `device`: where the torch backends run (training
    scores its validation set on its own device; the ONNX backends are CPU only). `threads`: intra-op
    threads of the ONNX Runtime session (default: torch's). `cache_dir`: root for derived files (default:
    next to the checkpoint). `faces`: how int8 calibration crops are made (default: the model's geometry
    with the `Settings` defaults); `calibration_dir`: images/videos to make them from (default: the
    packaged sample face). `release_torch_cnn`: drop the PyTorch CNN weights once an ONNX backend is up
    (serving; it shares `loaded.model`, so only for a model loaded for this classifier alone).
    `keep_layout`: leave the model's weights in their memory layout (a model still being trained).
    `chunk_size` 16: as fast as 32 per image here, with half the activation memory.
    A backend that cannot be built falls back to the next safe one, with the reason in `backend_note`.

    >>> clf = TrackClassifier(load_checkpoint("model.safetensors"))  # doctest: +SKIP
    >>> scores = clf.score_tracks([crops_a, crops_b])  # doctest: +SKIP
    >>> [(s.logit, s.frame_logits.shape) for s in scores]  # doctest: +SKIP
    [(-2.1, (32,)), (0.4, (17,))]
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
        device: str = "cpu",
        faces: FaceSpec | None = None,
        keep_layout: bool = False,
    ):
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
        if torch.device(device).type != "cpu" and runtime not in ("torch", "torch-bf16"):
            raise ValueError(f"runtime {runtime!r} runs on the CPU only, not on {device}")
        self.loaded = loaded
        self.model = loaded.model.eval()
        self.config = loaded.config
        self.chunk_size = chunk_size
        self.requested = runtime
        self.device = device
        self.keep_layout = keep_layout
        self.threads = threads or torch.get_num_threads()
        self.faces = faces or FaceSpec.from_settings(Settings(), self.config)
        self._cache_root = cache_dir
        self._calibration_dir = calibration_dir
        self.cache: RuntimeCache | None = None
        self.backend_note = ""
        self.speed: dict[str, float] = {}  # images/s of each candidate, when `auto` had to choose
        self.backend, self._cnn = self._select(runtime)
        if release_torch_cnn and self.backend.startswith("onnx"):
            # Serving on ONNX Runtime: the PyTorch copy of the CNN is dead weight (~95 MB for ResNet50).
            self.model.cnn = ReleasedCNN()

    # --- backend selection -------------------------------------------------------------------------

    def runtime_cache(self) -> RuntimeCache:
        if self.cache is None:
            self.cache = RuntimeCache(cache_dir_for(self.loaded, self._cache_root), self.loaded)
        return self.cache

    def _select(self, runtime: str) -> tuple[str, Features]:
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
            best = max(self.speed, key=lambda b: self.speed[b])
            return best, built[best]
        if built:
            return next(iter(built.items()))
        return self._first_that_builds(["torch"])

    def _first_that_builds(self, order: list[str]) -> tuple[str, Features]:
        for backend in order:
            try:
                return backend, self._build(backend)
            except Exception as e:  # export, quantization or ORT failures: fall back, say why
                self._note_failure(backend, e)
        raise AssertionError("unreachable: the torch backend always builds")

    def _note_failure(self, backend: str, e: Exception) -> None:
        log.warning("runtime backend %s unavailable (%s: %s); falling back", backend, type(e).__name__, e)
        self.backend_note += f"; {backend} failed: {type(e).__name__}: {e}"

    def _images_per_second(self, cnn: Features, n: int = 8, repeats: int = 2) -> float:
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
            cache = self.runtime_cache()
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

    def _build(self, backend: str) -> Features:
        if backend in ("torch", "torch-bf16"):
            bf16 = backend == "torch-bf16"
            return TorchFeatures(self.model, bf16, self.device, channels_last=not self.keep_layout)
        cache = self.runtime_cache()
        path = cache.path(backend)
        if not path.is_file() or cache.meta()["derived"].get(backend) is None:
            self._derive(backend)
        return OnnxFeatures(path, self.threads)

    def _derive(self, backend: str) -> None:
        cache = self.runtime_cache()
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
        if self._calibration_dir:
            return folder_face_crops(self._calibration_dir, self.faces), str(self._calibration_dir)
        return sample_face_crops(self.faces), "the packaged sample face (inference/sample_faces.py)"

    def _check(self, backend: str, features: Features, t0: float) -> dict:
        """Agreement with eager fp32: on held-out face crops (other sample seeds than calibration) for
        int8, on random pixels for the fp32 export (same arithmetic; no need to pay for MTCNN)."""
        s = self.config.input_size
        if backend == "onnx":
            crops = np.random.default_rng(0).integers(0, 256, (8, s, s, 3), dtype=np.uint8)
        else:
            crops = sample_face_crops(self.faces, n=24, seed=7)
        tracks = [crops[i : i + 8] for i in range(0, len(crops), 8)]
        diff = compare_backends(self, features, tracks)
        diff.update(derive_s=round(time.perf_counter() - t0, 2), created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        if diff["max_prob_diff"] > PROB_TOLERANCE:
            log.warning("%s differs from fp32 by up to %.4f in P(fake)", backend, diff["max_prob_diff"])
        return diff

    def describe(self) -> RuntimeInfo:
        """For /info and the benchmark: the backend in use and why."""
        meta: dict = {}
        if self.cache is not None:
            try:
                m = self.cache.meta()
                meta = {"cache": str(self.cache.folder), "checks": m["derived"], "validated": m["validated"]}
            except OSError:
                pass
        return RuntimeInfo(
            requested=self.requested,
            backend=self.backend,
            note=self.backend_note.lstrip("; "),
            threads=self.threads,
            device=self.device,
            speed_img_s=self.speed or None,
            **meta,
        )

    # --- inference ---------------------------------------------------------------------------------

    def preprocess(self, crops: np.ndarray) -> torch.Tensor:
        """[N, S, S, 3] uint8 RGB at the model's input size -> [N, 3, S, S] float32 normalised."""
        return self.config.normalize(torch.from_numpy(np.ascontiguousarray(crops)))

    @torch.inference_mode()
    def features(self, crops: np.ndarray, cnn: Features | None = None) -> torch.Tensor:
        """[N, S, S, 3] uint8 -> [N, C] CNN features (on `device`), in chunks of `chunk_size`."""
        cnn = cnn or self._cnn
        parts = [
            cnn(self.preprocess(crops[i : i + self.chunk_size])).to(self.device)
            for i in range(0, len(crops), self.chunk_size)
        ]
        return torch.cat(parts).float()

    @torch.inference_mode()
    def score_tracks(self, tracks: list[np.ndarray], cnn: Features | None = None) -> list[TrackScore]:
        """Crops per track ([T_i, S, S, 3] uint8) -> one TrackScore (logit, per-frame logits [T_i]) each."""
        if not tracks:
            return []
        feats = self.features(np.concatenate(tracks), cnn)  # [sum T_i, C]
        results = []
        for part in torch.split(feats, [len(t) for t in tracks]):
            track_logit, frame_logits = self.model.temporal(part.unsqueeze(0))  # [1], [1, T]
            results.append(TrackScore(float(track_logit[0]), frame_logits[0].float().cpu().numpy()))
        return results

    def warmup(self, batch: int = 4) -> None:
        """One forward pass on a dummy batch: kernels chosen, arenas and weights paged in before traffic."""
        s = self.config.input_size
        self.score_tracks([np.full((batch, s, s, 3), 128, np.uint8)])
