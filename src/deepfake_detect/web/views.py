"""What the page shows of a job, computed here so the templates only lay it out: the verdict in words,
the timeline's geometry (an SVG drawn on the server: it prints, and needs no script), face colours."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..report import FaceObservation, FaceTrackReport, VideoReport, small_face_caution
from ..verdict import MIN_TRACK_SHARE, judged_lengths

# Okabe-Ito (its pale yellow swapped for a wine red that shows on white): told apart with the common
# colour-vision deficiencies; every face also has its number.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255")


def face_colour(track_id: int) -> str:
    return PALETTE[track_id % len(PALETTE)]


@dataclass(frozen=True)
class VerdictView:
    label: str  # REAL, FAKE, NO_FACE
    headline: str
    sentence: str
    deciding_track: int | None
    judged: frozenset[int] = frozenset()  # track_ids seen long enough to decide (verdict.judged_tracks)


# How a face's P(fake) comes from its frames, by the model's aggregation rule (verdict.track_logit).
AGGREGATION_WORDS = {
    "lstm": "the BiLSTM's reading of the whole track",
    "mean_frame": "the mean of its frames' logits, each frame read by the BiLSTM in the context of the track",
    "confident_frames": "the mean of its confidently fake frames when there are enough of them, else of its "
    "confidently real ones, else of all (the DFDC winner's rule)",
}
# How the verdict page says which faces may decide (verdict.MIN_TRACK_SHARE).
JUDGED_RULE = f"seen in at least {MIN_TRACK_SHARE:.0%} as many frames as the longest-seen face"


def deciding_face(report: VideoReport) -> FaceTrackReport | None:
    """The face whose P(fake) is the video's. Reports stored before the pipeline recorded it
    (`deciding_track_id`, 2026-12-07) get it again by the same rule, from what they keep."""
    if not report.faces:
        return None
    if report.deciding_track_id is not None:
        for face in report.faces:
            if face.track_id == report.deciding_track_id:
                return face
    judged = judged_lengths([f.frames for f in report.faces])
    return max((report.faces[i] for i in judged), key=lambda f: f.logit)


def judged_faces(report: VideoReport) -> frozenset[int]:
    return frozenset(report.faces[i].track_id for i in judged_lengths([f.frames for f in report.faces]))


def verdict(report: VideoReport) -> VerdictView:
    """The verdict, honestly worded: a model's estimate against its threshold, never a certainty. A
    face seen only briefly may score higher than the one that decides; the sentence says so."""
    t = report.threshold
    top = deciding_face(report)
    if report.prediction == "NO_FACE" or report.fake_probability is None or top is None:
        return VerdictView(
            "NO_FACE",
            "No face found",
            f"No face was found in the {report.frames_analyzed} frames sampled, so the video was not "
            "judged. This says nothing about whether it is genuine.",
            None,
        )
    p = report.fake_probability
    judged = judged_faces(report)
    faces = f"{len(report.faces)} faces" if len(report.faces) != 1 else "1 face"
    if len(judged) == len(report.faces):
        where = f"face {top.track_id}, the most suspicious of {faces}"
    else:
        where = f"face {top.track_id}, the most suspicious of the {len(judged)} of {faces} seen long enough"
    brief = [
        f for f in report.faces if f.track_id not in judged and f.fake_probability > top.fake_probability
    ]
    if report.prediction == "FAKE":
        label, headline, side = "FAKE", "Likely manipulated", "at or above"
    else:
        label, headline, side = "REAL", "No manipulation detected", "below"
    sentence = f"The model estimates P(fake) = {p:.2f} for {where}: {side} its threshold of {t:.2f}."
    if brief:
        worst = max(brief, key=lambda f: f.fake_probability)
        who, were = (f"Face {worst.track_id}", "was") if len(brief) == 1 else (f"{len(brief)} faces", "were")
        sentence += (
            f" {who} scored higher (up to {worst.fake_probability:.2f}) but {were} seen too briefly to"
            f" decide (a face must be {JUDGED_RULE})."
        )
    if caution := small_face_caution(top):
        sentence += f" {caution[0].upper()}{caution[1:]}."
    if report.faces_not_analysed:
        sentence += (
            f" {report.faces_not_analysed} more faces, seen less, were found and not analysed: at most the"
            f" {len(report.faces)} most prominent are."
        )
    return VerdictView(label, headline, sentence, top.track_id, judged)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    obs: FaceObservation


@dataclass(frozen=True)
class Series:
    face: FaceTrackReport
    colour: str
    points: list[Point]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position
    label: str


@dataclass
class TimelineView:
    """P(fake) per face over the video's time, in SVG user units (the SVG scales to its box)."""

    width: int = 720
    height: int = 240
    left: int = 44
    right: int = 14
    top: int = 12
    bottom: int = 36
    duration_s: float = 1.0
    threshold_y: float = 0.0
    series: list[Series] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)

    def x(self, t: float) -> float:
        return self.left + (self.width - self.left - self.right) * t / self.duration_s

    def y(self, p: float) -> float:
        return self.top + (self.height - self.top - self.bottom) * (1.0 - p)

    @property
    def plot_bottom(self) -> float:
        return self.y(0.0)

    @property
    def plot_right(self) -> float:
        return self.x(self.duration_s)


def timeline(report: VideoReport) -> TimelineView:
    last_seen = max((o.timestamp_s for f in report.faces for o in f.observations), default=0.0)
    duration = max(report.video.duration_s or 0.0, last_seen, 0.1)
    view = TimelineView(duration_s=duration)
    view.threshold_y = view.y(report.threshold)
    for face in report.faces:
        points = [Point(view.x(o.timestamp_s), view.y(o.fake_probability), o) for o in face.observations]
        view.series.append(Series(face, face_colour(face.track_id), points))
    step = _nice_step(duration / 6)
    view.x_ticks = [
        Tick(view.x(i * step), f"{i * step:g} s") for i in range(int(math.floor(duration / step + 1e-9)) + 1)
    ]
    view.y_ticks = [Tick(view.y(p), f"{p:.2f}") for p in (0.0, 0.25, 0.5, 0.75, 1.0)]
    return view


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least `raw`."""
    power = 10 ** math.floor(math.log10(max(raw, 1e-3)))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def faces_by_suspicion(report: VideoReport) -> list[FaceTrackReport]:
    """Face cards in the order a reader needs them: the deciding face, then the most suspicious first."""
    top = deciding_face(report)
    return sorted(report.faces, key=lambda f: (f is not top, -f.fake_probability, f.track_id))


def overlay_data(report: VideoReport) -> dict:
    """What the page's script needs to draw face boxes over the playing video (compact keys)."""
    return {
        "threshold": report.threshold,
        "fps": report.video.fps,
        "width": report.video.width,
        "height": report.video.height,
        "faces": [
            {
                "id": f.track_id,
                "colour": face_colour(f.track_id),
                "obs": [
                    {"f": o.frame_index, "t": o.timestamp_s, "box": o.box, "p": o.fake_probability}
                    for o in f.observations
                ],
            }
            for f in report.faces
        ],
    }


def seconds(value: float | None) -> str:
    """4.24 -> "4.2 s"; 75 -> "1:15"."""
    if value is None:
        return "?"
    if value < 60:
        return f"{value:.1f} s"
    return f"{int(value // 60)}:{int(value % 60):02d}"


def duration_limit(value: float) -> str:
    """600 -> "10 minutes"; 90 -> "90 seconds"."""
    if value >= 120:
        return f"{value / 60:g} minutes"
    return f"{value:g} seconds"


def size(n: int) -> str:
    """Bytes in words: 2411585 -> "2.3 MB"."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
