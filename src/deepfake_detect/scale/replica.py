"""The detector deployment of `serve --ray`: one Detector per replica, the CNN batched across requests.

A request brings the video's bytes (the ingress may be on another node than the replica, so a path
would not do) and gets the `VideoReport` back. Decoding, face detection and cropping run per request
on the replica's threads (`INFERENCE_WORKERS` of them, = the replica's `max_ongoing_requests`); the
crops of requests that reach the classifier together are scored in one CNN call (`@serve.batch`,
up to `MAX_BATCH` requests or `BATCH_WAIT_S`), which is where a batch pays off: one forward pass over
[sum T_i, 3, S, S] instead of one per request. Errors (a bad video: UnsupportedMedia, ...) travel back
as themselves and the ingress maps them as the single-process server does.

Health: Serve calls `check_health` every few seconds; a replica whose model did not load fails it and
Serve replaces it (the load is retried), while the ingress answers 503 with the reason.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ray import serve

from ..api.uploads import prepare_upload_dir
from ..config import Settings
from ..errors import DetectorError, NoModel
from ..report import ModelInfo, VideoReport

MAX_BATCH = 8
BATCH_WAIT_S = 0.02  # against ~1 s per video: what a request may wait for company


class BatchedClassifier:
    """Stands in for the Detector's TrackClassifier: `score_tracks` from a worker thread goes through the
    replica's batching queue on its event loop; everything else is the real classifier's."""

    def __init__(self, inner: Any, replica: DetectorReplica, loop: asyncio.AbstractEventLoop):
        self._inner, self._replica, self._loop = inner, replica, loop

    def score_tracks(self, tracks: list, cnn: Any = None) -> list:
        if not tracks or cnn is not None:
            return self._inner.score_tracks(tracks, cnn)
        return asyncio.run_coroutine_threadsafe(self._replica.classify(tracks), self._loop).result()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class DetectorReplica:
    def __init__(self, settings: Settings):
        import torch

        from ..memory import tune_malloc
        from ..pipeline import Detector

        tune_malloc()
        torch.set_num_threads(settings.torch_threads or 1)
        self.settings = settings
        self._pool = ThreadPoolExecutor(settings.inference_workers, thread_name_prefix="replica")
        self._cnn = ThreadPoolExecutor(1, thread_name_prefix="cnn")  # one batch at a time
        self.reason: str | None = None
        self.detector: Any = None
        try:
            self.detector = Detector.from_settings(settings)
        except DetectorError as e:
            self.reason = e.detail
            return
        self._classifier = self.detector.classifier
        if settings.warmup:
            self.detector.warmup()
        self._upload_dir = prepare_upload_dir(settings.upload_dir)  # this machine's, made if missing

    def _bind_loop(self) -> None:
        if not isinstance(self.detector.classifier, BatchedClassifier):
            loop = asyncio.get_running_loop()
            self.detector.classifier = BatchedClassifier(self._classifier, self, loop)

    def _require(self) -> Any:
        if self.detector is None:
            raise NoModel(self.reason or "no model loaded")
        return self.detector

    async def describe(self) -> ModelInfo:
        return self._require().describe()

    async def analyze(self, data: bytes, name: str) -> VideoReport:
        detector = self._require()
        self._bind_loop()
        fd, tmp = tempfile.mkstemp(dir=self._upload_dir)  # no extension: read by content (containers.py)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, detector.analyze, tmp, name)
        finally:
            os.unlink(tmp)

    @serve.batch(max_batch_size=MAX_BATCH, batch_wait_timeout_s=BATCH_WAIT_S)
    async def classify(self, requests: list[list]) -> list[list]:
        """[tracks of request i] -> [scores of request i]: one CNN pass over every crop of the batch."""
        flat = [track for tracks in requests for track in tracks]  # [T_j, S, S, 3] each
        loop = asyncio.get_running_loop()
        scores = await loop.run_in_executor(self._cnn, self._classifier.score_tracks, flat)
        out, start = [], 0
        for tracks in requests:
            out.append(scores[start : start + len(tracks)])
            start += len(tracks)
        return out

    def check_health(self) -> None:
        if self.detector is None:
            raise RuntimeError(f"model not loaded: {self.reason}")
