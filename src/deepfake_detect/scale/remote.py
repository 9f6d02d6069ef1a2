"""`RemoteDetector`: what the API app holds in place of a Detector when it runs under Ray Serve.

The app (`create_app`) is the same; only its `detector_factory` differs. `analyze` sends the upload's
bytes to a detector replica (replica.py) through a Serve handle and returns the replica's report;
`describe`, `model_id` and `threshold` come from the replica once, at start-up. The routes, the
admission (503 + Retry-After), the problem+json errors and the jobs worker threads all run in the
ingress exactly as in the single-process server. Serve's own queue limit answers the same 503.

Evidence (crops, Grad-CAM) needs the model's layers in-process: the first such request loads a local
Detector in the ingress (lazily, ~1 s and the model's memory once); a server never asked for
evidence never loads it.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import DetectorError, Overloaded
from ..pipeline import Progress, ProgressCallback, Stage
from ..report import ModelInfo, VideoReport

STAGES: tuple[Stage, ...] = ("decode", "detect", "crop", "classify")


class RemoteDetector:
    def __init__(self, handle: Any, settings: Settings):
        self._handle = handle
        self._settings = settings
        self._local: Any = None
        self._lock = threading.Lock()
        self.info: ModelInfo = self._call("describe")

    @property
    def model_id(self) -> str:
        return self.info.id

    @property
    def threshold(self) -> float:
        return self.info.threshold

    def describe(self) -> ModelInfo:
        return self.info

    def warmup(self) -> None:
        """The replicas warm themselves up when they start."""

    def analyze(
        self, path: Any, name: str | None = None, progress: ProgressCallback | None = None
    ) -> VideoReport:
        frames = self._settings.frames_per_video
        if progress is not None:  # the jobs worker: a cancelled job stops here
            progress(Progress("decode", 0, frames))
        report: VideoReport = self._call(
            "analyze", Path(path).read_bytes(), Path(path).name if name is None else name
        )
        if progress is not None:  # the replica's stages ran in one call: report them done, in order
            sizes = {"decode": report.frames_analyzed, "detect": report.frames_analyzed}
            for stage in STAGES:
                n = sizes.get(stage, len(report.faces))
                progress(Progress(stage, n, n))
        return report

    def _call(self, method: str, *args: Any) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread (analyses, jobs): block on the answer here
            return self._call_blocking(method, *args)
        # on the event loop (the app's start-up, which loads the model synchronously): Serve refuses a
        # blocking call there; its handles route on a loop of their own, so a helper thread may wait
        with ThreadPoolExecutor(1) as one:
            return one.submit(self._call_blocking, method, *args).result()

    def _call_blocking(self, method: str, *args: Any) -> Any:
        from ray.exceptions import RayTaskError
        from ray.serve.exceptions import BackPressureError

        try:
            return getattr(self._handle, method).remote(*args).result()
        except BackPressureError as e:
            raise Overloaded(
                f"every detector replica is busy and its queue is full; retry shortly ({e})"
            ) from e
        except RayTaskError as e:
            if isinstance(e.cause, DetectorError):
                raise e.cause from None  # UnsupportedMedia, NoModel, ...: mapped as the local ones are
            raise

    def __getattr__(self, name: str) -> Any:
        """Anything else (crop_spec, classifier, faces: the evidence routes) from a local Detector."""
        if name.startswith("_"):
            raise AttributeError(name)
        with self._lock:
            if self._local is None:
                from ..pipeline import Detector

                self._local = Detector.from_settings(self._settings)
        return getattr(self._local, name)
