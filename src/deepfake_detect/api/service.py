"""The inference service behind the routes: one Detector, a worker pool, and admission control.

Inference runs in worker threads so the event loop keeps answering (health checks, new uploads).
When every worker is busy and `max_queue` requests already wait, new ones get 503 + Retry-After
at once instead of piling up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import torch

from ..config import Settings
from ..errors import DetectorError, NoModel, Overloaded
from ..memory import tune_malloc
from ..pipeline import Detector
from ..report import VideoReport
from .admission import UploadSlots

log = logging.getLogger("deepfake_detect.api")
T = TypeVar("T")


class InferenceService:
    def __init__(self, settings: Settings, detector_factory: Callable[[Settings], Detector] | None = None):
        self.settings = settings
        self._factory = detector_factory or Detector.from_settings
        self.detector: Detector | None = None
        self.unavailable_reason: str | None = "the model has not been loaded yet"
        self.started_at = time.time()
        self.load_seconds: float | None = None
        self._executor = self._new_executor()
        self._capacity = settings.inference_workers + settings.max_queue
        self._in_flight = 0
        # POST /jobs only stores its upload: places of its own, apart from the analyses' (admission.py)
        self.job_uploads = UploadSlots(settings.max_job_uploads, "job upload(s)")
        self.report_hooks: list[Callable[[VideoReport], None]] = []  # metrics

    def _new_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(self.settings.inference_workers, thread_name_prefix="inference")

    def load(self) -> None:
        """Load the model; on failure keep serving, with the reason in /health and 503s."""
        tune_malloc()  # before the worker threads and their buffers exist (inference/runtime.py)
        threads = self.settings.torch_threads or max(
            1, (os.cpu_count() or 1) // self.settings.inference_workers
        )
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        try:
            self.detector = self._factory(self.settings)
            self.unavailable_reason = None
        except DetectorError as e:
            self.detector, self.unavailable_reason = None, e.detail
            log.error("model unavailable: %s", e.detail)
        warmup = getattr(self.detector, "warmup", None)
        if warmup is not None and self.settings.warmup:
            # On the executor's threads: theirs is the lazy initialisation a first request would pay for.
            for future in [self._executor.submit(warmup) for _ in range(self.settings.inference_workers)]:
                future.result()
        self.load_seconds = round(time.perf_counter() - t0, 3)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        # A fresh (idle, threadless) pool, so the same app can start again (a second lifespan, as
        # test clients do: schemathesis found every upload failing with 500 after a restart).
        self._executor = self._new_executor()

    def require_detector(self) -> Detector:
        if self.detector is None:
            raise NoModel(self.unavailable_reason or "no model loaded")
        return self.detector

    @property
    def load_state(self) -> dict:
        busy = min(self._in_flight, self.settings.inference_workers)
        return {
            "workers": self.settings.inference_workers,
            "busy": busy,
            "queued": self._in_flight - busy,
            "max_queue": self.settings.max_queue,
            "job_uploads": self.job_uploads.in_flight,
            "max_job_uploads": self.job_uploads.capacity,
        }

    @asynccontextmanager
    async def slot(self):
        """Admission: hold one place among workers + queue for the duration of a request."""
        if self._in_flight >= self._capacity:
            raise Overloaded(
                f"all {self.settings.inference_workers} inference worker(s) are busy and "
                f"{self.settings.max_queue} request(s) are waiting; retry shortly",
                retry_after_s=5,
            )
        self._in_flight += 1  # single event-loop thread: no lock needed
        try:
            yield
        finally:
            self._in_flight -= 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Other model work (explanations) on the inference workers, under the same admission (503 when
        they are all busy and the queue is full)."""
        detector = self.require_detector()
        async with self.slot():
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, fn, detector, *args)

    async def analyze(self, path: Path, name: str) -> VideoReport:
        detector = self.require_detector()
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(self._executor, detector.analyze, path, name)
        for hook in self.report_hooks:
            hook(report)
        return report
