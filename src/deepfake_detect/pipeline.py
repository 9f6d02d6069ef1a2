"""The Detector: media -> faces -> model -> verdict, with per-stage timings.

>>> detector = Detector.from_settings(get_settings())  # doctest: +SKIP
>>> report = detector.analyze("clip.mp4")  # doctest: +SKIP
>>> report.prediction, report.fake_probability  # doctest: +SKIP
('REAL', 0.03)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .config import Settings
from .faces import CropSpec, FaceDetector, build_tracks, crop_face, crop_track
from .inference.runtime import TrackClassifier
from .media import MediaLimits, sample_frames
from .models.checkpoint import LoadedModel
from .report import FaceObservation, FaceTrackReport, StageTimings, VideoMeta, VideoReport
from .verdict import decide, sigmoid, track_logit


class Detector:
    def __init__(self, loaded: LoadedModel, settings: Settings, face_detector: FaceDetector | None = None):
        self.settings = settings
        self.loaded = loaded
        self.config = loaded.config
        self.classifier = TrackClassifier(
            loaded,
            runtime=settings.runtime,
            cache_dir=settings.runtime_cache_dir,
            calibration_dir=settings.runtime_calibration_dir,
            release_torch_cnn=True,  # the Detector owns its LoadedModel
        )
        self.faces = face_detector or FaceDetector(
            max_side=settings.detect_max_side,
            min_face_size=settings.min_face_size,
            confidence=settings.face_confidence,
        )
        self.crop_spec = CropSpec(size=self.config.input_size, scale=self.config.crop_scale)
        self.limits = MediaLimits.from_settings(settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> Detector:
        from .inference.bundled import resolve_model  # bundled default when MODEL_PATH is unset

        return cls(resolve_model(settings), settings)

    def warmup(self) -> None:
        """Run a small synthetic clip through detection and the classifier, so the first request does not
        pay for lazy initialisation (oneDNN kernels, ONNX Runtime arenas, page-ins); docs/performance.md."""
        from .synthetic import render_frames

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

    @property
    def threshold(self) -> float:
        explicit = self.settings.prediction_threshold
        return self.config.threshold if explicit is None else explicit

    @property
    def model_id(self) -> str:
        return self.loaded.model_id

    def analyze(self, path: str | os.PathLike, name: str | None = None) -> VideoReport:
        """Analyse one video file. Raises a MediaError for unusable input."""

        t0 = time.perf_counter()
        video = sample_frames(path, self.settings.frames_per_video, self.limits)
        t1 = time.perf_counter()
        detections = self.faces.detect(video.frames)
        tracks = build_tracks(detections)
        t2 = time.perf_counter()
        crops = [crop_track(video.frames, t, self.crop_spec) for t in tracks]  # [T_i, S, S, 3] each
        t3 = time.perf_counter()
        scored = self.classifier.score_tracks(crops)
        t4 = time.perf_counter()

        temperature = self.config.temperature
        face_reports = []
        for track, (lstm_logit, frame_logits) in zip(tracks, scored, strict=True):
            logit = track_logit(lstm_logit, frame_logits, self.config.aggregation)
            frame_probs = sigmoid(frame_logits, temperature)
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
                    fake_probability=round(float(sigmoid(logit, temperature)), 4),
                    logit=round(logit, 4),
                    frames=len(track),
                    first_seen_s=observations[0].timestamp_s,
                    last_seen_s=observations[-1].timestamp_s,
                    observations=observations,
                )
            )
        report = self._verdict(video, face_reports, Path(path).name if name is None else name)
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

    def _verdict(self, video, faces: list[FaceTrackReport], name: str) -> VideoReport:
        info = video.info
        common = dict(
            video_name=name,
            frames_analyzed=len(video.frames),
            threshold=self.threshold,
            faces=faces,
            video=VideoMeta(
                container=info.container,
                codec=info.codec,
                width=info.width,
                height=info.height,
                rotation=info.rotation,
                duration_s=info.duration_s,
                fps=info.fps,
                frame_count=info.frame_count,
            ),
            model_id=self.model_id,
            aggregation=self.config.aggregation,
            timings=StageTimings(),
        )
        if not faces:
            return VideoReport(
                prediction="NO_FACE",
                confidence=None,
                is_fake=None,
                raw_score=None,
                fake_probability=None,
                message=f"no face found in {len(video.frames)} sampled frames; the video was not judged",
                **common,
            )
        worst = max(faces, key=lambda f: f.logit)
        label, confidence = decide(worst.fake_probability, self.threshold)
        return VideoReport(
            prediction=label,
            confidence=round(confidence, 4),
            is_fake=label == "FAKE",
            raw_score=worst.logit,
            fake_probability=worst.fake_probability,
            **common,
        )
