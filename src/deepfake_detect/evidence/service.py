"""`EvidenceService`: crops and explanations of finished jobs, computed once and kept in small caches.

A result page asks for a thumbnail per face, crops as the user clicks through the timeline and one
explanation per face: the first request for a job decodes its analysed frames once and crops every
observation (the 6-face 1080p clip: 112 crops in 1.3 s on the busy 2-core dev machine); the rest come
from memory. Crops of the last `max_jobs` jobs are kept (the bundled model's 160 px crops: 77 kB each,
8.6 MB for that clip).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from ..errors import EvidenceNotFound, ExplainUnavailable
from ..models.checkpoint import LoadedModel, load_checkpoint
from ..models.cnn_lstm import CnnLstm
from ..models.registry import ModelConfig
from ..pipeline import Detector
from ..report import FaceObservation, FaceTrackReport, VideoReport
from .crops import TrackCrops, job_crops
from .explain import GradCam, overlay
from .images import data_url
from .views import Explanation, FrameExplanation

V = TypeVar("V")


class LruCache(Generic[V]):
    """A small thread-safe LRU in which each value is computed once even when requests race for it."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]
            value = compute()
            with self._lock:
                self._entries[key] = value
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                self._computing.pop(key, None)
        return value

    def drop(self, matches: Callable[[Hashable], bool]) -> None:
        """Forget every entry whose key `matches`."""
        with self._lock:
            for key in [k for k in self._entries if matches(k)]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class AnalysedVideo:
    """A succeeded job's result and its kept upload."""

    job_id: str
    report: VideoReport
    path: Path


def face_of(report: VideoReport, track_id: int) -> FaceTrackReport:
    for face in report.faces:
        if face.track_id == track_id:
            return face
    raise EvidenceNotFound(f"the video has no face track {track_id}")


def representative(face: FaceTrackReport) -> FaceObservation:
    """The observation a face card shows: the clearest detection (highest MTCNN score, earliest on ties)."""
    return max(face.observations, key=lambda o: (o.detection_score, -o.frame_index))


def most_suspicious(face: FaceTrackReport, top: int) -> list[FaceObservation]:
    """The `top` observations with the highest P(fake), highest first (earliest on ties)."""
    return sorted(face.observations, key=lambda o: (-o.fake_probability, o.frame_index))[:top]


def observation(face: FaceTrackReport, frame: int) -> FaceObservation:
    """Face `face`'s observation in frame `frame`; the 404 names the frames it has, to pick from."""
    for o in face.observations:
        if o.frame_index == frame:
            return o
    frames = ", ".join(str(o.frame_index) for o in face.observations)
    raise EvidenceNotFound(f"face {face.track_id} was not analysed in frame {frame} (its frames: {frames})")


class EvidenceService:
    def __init__(self, max_jobs: int = 4, max_explanations: int = 64):
        self.crops_cache: LruCache[dict[int, TrackCrops]] = LruCache(max_jobs)
        self.explanations: LruCache[Explanation] = LruCache(max_explanations)
        self._cams: LruCache[GradCam] = LruCache(1)  # the served model's

    def forget(self, job_id: str) -> None:
        """Drop a deleted job's crops and explanations (keys start with the job id)."""

        def of_job(key: Hashable) -> bool:
            return isinstance(key, tuple) and key[0] == job_id

        self.crops_cache.drop(of_job)
        self.explanations.drop(of_job)

    def crops(self, video: AnalysedVideo, detector: Detector) -> dict[int, TrackCrops]:
        """Every face track's crops of a job {track_id: TrackCrops}."""
        spec = detector.crop_spec
        return self.crops_cache.get(
            (video.job_id, spec), lambda: job_crops(video.path, video.report, spec, detector.limits)
        )

    def crop(self, video: AnalysedVideo, detector: Detector, track_id: int, frame: int | None) -> np.ndarray:
        """One crop [S, S, 3] uint8: of frame `frame`, or the face's representative one."""
        face = face_of(video.report, track_id)
        frame = (representative(face) if frame is None else observation(face, frame)).frame_index
        track = self.crops(video, detector)[track_id]  # one crop per observation of the report
        return track.crops[track.frame_indices.index(frame)]

    def explain(
        self, video: AnalysedVideo, detector: Detector, track_id: int, top: int = 3, frame: int | None = None
    ) -> Explanation:
        """Grad-CAM of face `track_id` on frame `frame`, or on its `top` most suspicious frames."""
        face = face_of(video.report, track_id)
        if frame is None:
            chosen = most_suspicious(face, top)
        else:
            chosen = [observation(face, frame)]
        key = (video.job_id, track_id, detector.loaded.sha256, tuple(o.frame_index for o in chosen))
        return self.explanations.get(key, lambda: self._explain(video, detector, face, chosen))

    def _explain(
        self, video: AnalysedVideo, detector: Detector, face: FaceTrackReport, chosen: list[FaceObservation]
    ) -> Explanation:
        track = self.crops(video, detector)[face.track_id]
        positions = [track.frame_indices.index(o.frame_index) for o in chosen]
        result = self.grad_cam(detector)(track.crops, positions)
        return Explanation(
            job_id=video.job_id,
            track_id=face.track_id,
            model_id=detector.model_id,
            layer=result.layer,
            target="this face's P(fake) logit in the frame (CNN + BiLSTM over the whole track)",
            frames=[
                FrameExplanation(
                    frame_index=o.frame_index,
                    timestamp_s=o.timestamp_s,
                    fake_probability=o.fake_probability,
                    crop=data_url(track.crops[p]),
                    heatmap=data_url(overlay(track.crops[p], heat)),
                )
                for o, p, heat in zip(chosen, positions, result.heatmaps, strict=True)
            ],
        )

    def grad_cam(self, detector: Detector) -> GradCam:
        return self._cams.get(detector.loaded.sha256, lambda: GradCam(*_torch_model(detector.loaded)))


def _torch_model(loaded: LoadedModel) -> tuple[CnnLstm, ModelConfig]:
    """A private eager copy of the served model: serving may have released its PyTorch CNN (ONNX
    backends), and Grad-CAM's hooks must not see the inference threads' forward passes."""
    from ..inference.backends import ReleasedCNN

    if not isinstance(loaded.model.cnn, ReleasedCNN):
        return copy.deepcopy(loaded.model).float().eval(), loaded.config
    if not loaded.path.is_file():
        raise ExplainUnavailable("the served model's weights are neither in memory nor on disk")
    again = load_checkpoint(loaded.path)
    if again.sha256 != loaded.sha256:
        raise ExplainUnavailable(f"the checkpoint at {loaded.path} changed since it was loaded")
    return again.model, again.config
