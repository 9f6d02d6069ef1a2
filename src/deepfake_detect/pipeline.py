"""The Detector: media -> faces -> model -> verdict, with per-stage timings.

>>> detector = Detector.from_settings(get_settings())  # doctest: +SKIP
>>> report = detector.analyze("clip.mp4")  # doctest: +SKIP
>>> report.prediction, report.fake_probability  # doctest: +SKIP
('REAL', 0.03)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .config import Settings
from .faces import CropSpec, FaceDetector, FaceSpec, build_tracks, crop_face, crop_track, most_prominent
from .inference.bundled import resolve_model
from .inference.runtime import TrackClassifier
from .inference.sample_faces import render_frames
from .media import MediaLimits, sample_frames
from .models.checkpoint import LoadedModel
from .report import (
    FaceObservation,
    FaceTrackReport,
    ModelInfo,
    StageTimings,
    VideoMeta,
    VideoReport,
    small_face_caution,
)
from .types import SampledVideo
from .verdict import ScoringRule, Verdict, sigmoid

Stage = Literal["decode", "detect", "crop", "classify"]


@dataclass(frozen=True)
class Progress:
    """Where an analysis stands: `done` of `total` frames (decode, detect) or face tracks (crop, classify).

    Sent at the start (done=0) and end of each stage; a callback that raises stops the analysis there
    (the jobs worker does, when its job was cancelled)."""

    stage: Stage
    done: int
    total: int


ProgressCallback = Callable[[Progress], None]


def _no_progress(_: Progress) -> None:
    pass


class Detector:
    """One model served with one `Settings`: frame count, face detection and crop geometry come from
    `face_spec` (faces/spec.py), the decision from `rule` (verdict.py)."""

    def __init__(self, loaded: LoadedModel, settings: Settings, face_detector: FaceDetector | None = None):
        self.settings = settings
        self.loaded = loaded
        self.config = loaded.config
        self.face_spec = FaceSpec.from_settings(settings, loaded.config)
        self.classifier = TrackClassifier(
            loaded,
            runtime=settings.runtime,
            cache_dir=settings.runtime_cache_dir,
            calibration_dir=settings.runtime_calibration_dir,
            faces=self.face_spec,  # int8 calibration crops are made as this Detector makes crops
            release_torch_cnn=True,  # the Detector owns its LoadedModel
        )
        self.faces = face_detector or self.face_spec.detector()
        self.limits = MediaLimits.from_settings(settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> Detector:
        return cls(resolve_model(settings), settings)  # MODEL_PATH, else the bundled model

    @property
    def crop_spec(self) -> CropSpec:
        return self.face_spec.crop

    def warmup(self) -> None:
        """Run two frames with the packaged sample face through detection and the classifier, so the first
        request does not pay for lazy initialisation (oneDNN kernels, ONNX Runtime arenas, page-ins);
        docs/performance.md."""
        frames = render_frames(640, 360, n_frames=2, seed=0)
        detections = self.faces.detect_images(frames)
        crops = [
            crop_face(frame, dets[0], self.crop_spec)
            for frame, dets in zip(frames, detections, strict=True)
            if dets
        ]
        if crops:
            self.classifier.score_tracks([np.stack(crops)])
        else:
            self.classifier.warmup()

    def describe(self) -> ModelInfo:
        """The served model for /info and /health: identity, preprocessing, calibration, backend."""
        loaded, config = self.loaded, self.config
        return ModelInfo(
            id=loaded.model_id,
            architecture=config.arch,
            path=str(loaded.path),
            sha256=loaded.sha256,
            format=loaded.source_format,
            input_size=config.input_size,
            mean=config.mean,
            std=config.std,
            crop_scale=config.crop_scale,
            patch_size=self.crop_spec.patch_size,
            patch_scale=self.crop_spec.margin,
            frames_per_video=self.face_spec.frames,
            pooling=config.pooling,
            aggregation=config.aggregation,
            threshold=self.threshold,
            model_threshold=config.threshold,
            temperature=config.temperature,
            summary=config.extra.get("summary"),
            card=config.extra,
            runtime=self.classifier.describe(),
        )

    @property
    def rule(self) -> ScoringRule:
        """The model's aggregation and calibration, with PREDICTION_THRESHOLD if set."""
        return ScoringRule.of(self.config, self.settings.prediction_threshold)

    @property
    def threshold(self) -> float:
        return self.rule.threshold

    @property
    def model_id(self) -> str:
        return self.loaded.model_id

    def analyze(
        self, path: str | os.PathLike, name: str | None = None, progress: ProgressCallback | None = None
    ) -> VideoReport:
        """Analyse one video file. Raises a MediaError for unusable input."""
        progress = progress or _no_progress
        t0 = time.perf_counter()
        progress(Progress("decode", 0, self.face_spec.frames))
        video = sample_frames(path, self.face_spec.frames, self.limits)
        n_frames = len(video.frames)
        progress(Progress("decode", n_frames, n_frames))
        t1 = time.perf_counter()
        progress(Progress("detect", 0, n_frames))
        detections = self.faces.detect(video.frames)
        found = build_tracks(detections)
        tracks = most_prominent(found, self.settings.max_faces)
        progress(Progress("detect", n_frames, n_frames))
        t2 = time.perf_counter()
        progress(Progress("crop", 0, len(tracks)))
        crops = [crop_track(video.frames, t, self.crop_spec) for t in tracks]  # [T_i, S, S, 3] each
        progress(Progress("crop", len(tracks), len(tracks)))
        t3 = time.perf_counter()
        progress(Progress("classify", 0, len(tracks)))
        scored = self.classifier.score_tracks(crops)
        progress(Progress("classify", len(tracks), len(tracks)))
        t4 = time.perf_counter()

        rule = self.rule
        face_reports = []
        for track, score, logit in zip(tracks, scored, rule.track_logits(scored), strict=True):
            frame_probs = sigmoid(score.frame_logits, rule.temperature)
            observations = [
                FaceObservation(
                    frame_index=video.frames[pos].index,
                    timestamp_s=video.frames[pos].timestamp_s,
                    box=[int(round(v)) for v in det.box],
                    detection_score=round(det.score, 4),
                    fake_probability=round(float(p), 4),
                )
                for pos, det, p in zip(track.frame_positions, track.detections, frame_probs, strict=True)
            ]
            face_reports.append(
                FaceTrackReport(
                    track_id=track.track_id,
                    fake_probability=round(sigmoid(logit, rule.temperature), 4),
                    logit=round(logit, 4),
                    frames=len(track),
                    first_seen_s=observations[0].timestamp_s,
                    last_seen_s=observations[-1].timestamp_s,
                    observations=observations,
                )
            )
        name = Path(path).name if name is None else name
        report = self._report(video, face_reports, rule.judge(scored), name, len(found) - len(tracks))
        t5 = time.perf_counter()
        report.timings = StageTimings(
            decode_s=round(t1 - t0, 4),
            detect_s=round(t2 - t1, 4),
            crop_s=round(t3 - t2, 4),
            classify_s=round(t4 - t3, 4),
            aggregate_s=round(t5 - t4, 4),
            total_s=round(t5 - t0, 4),
        )
        return report

    def _report(
        self,
        video: SampledVideo,
        faces: list[FaceTrackReport],
        verdict: Verdict,
        name: str,
        not_analysed: int,
    ) -> VideoReport:
        info = video.info
        if verdict.label == "NO_FACE":
            message = f"no face found in {len(video.frames)} sampled frames; the video was not judged"
        elif not_analysed:
            message = (
                f"{len(faces) + not_analysed} faces found: the {len(faces)} most prominent (MAX_FACES) were "
                f"analysed, {not_analysed} seen less were not"
            )
        else:
            message = None
        if verdict.track is not None and (caution := small_face_caution(faces[verdict.track])):
            message = caution if message is None else f"{message}; {caution}"
        return VideoReport(
            video_name=name,
            prediction=verdict.label,
            confidence=_round(verdict.confidence),
            is_fake=None if verdict.label == "NO_FACE" else verdict.label == "FAKE",
            frames_analyzed=len(video.frames),
            raw_score=_round(verdict.logit),
            fake_probability=_round(verdict.fake_probability),
            threshold=self.threshold,
            faces=faces,
            deciding_track_id=None if verdict.track is None else faces[verdict.track].track_id,
            faces_not_analysed=not_analysed,
            message=message,
            video=VideoMeta(
                container=info.container,
                codec=info.codec,
                width=info.width,
                height=info.height,
                rotation=info.rotation,
                duration_s=info.duration_s,
                fps=info.fps,
                frame_count=info.frame_count,
                size_bytes=info.size_bytes,
                sha256=info.sha256,
                hdr=info.hdr,
            ),
            model_id=self.model_id,
            aggregation=self.config.aggregation,
            timings=StageTimings(),
        )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
