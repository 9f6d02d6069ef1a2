"""Typed records of the crop cache's index (`index.jsonl`): one `CacheRecord` per source, one `CachedTrack`
per face track. The JSON layout is unchanged from the dicts they replace, so older caches still read.

>>> from deepfake_detect.training.datasets import Source
>>> rec = CacheRecord(Source("/d/a.mp4", "video", 0, "g", "d"), "no_face", frame_index=[3, 9])
>>> CacheRecord.from_json(rec.to_json()) == rec
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .datasets import Source


@dataclass(frozen=True, eq=False)
class CachedTrack:
    """One face track of a source: its patches are a PNG strip [T * P, P, 3] at `file`."""

    track_id: int
    file: str  # relative to the cache folder
    positions: list[int]  # indices into the source's sampled frames
    boxes: list[list[float]]  # [T][4] x1, y1, x2, y2 in frame pixels
    landmarks: np.ndarray  # [T, 5, 2] float32, 5-point landmarks in patch pixels
    scores: list[float]  # MTCNN confidence per detection
    landmarks68: np.ndarray | None = None  # [T, 68, 2] float32, dlib landmarks in patch pixels
    descriptor: np.ndarray | None = None  # [128] float32 dlib identity descriptor of the middle face

    def __len__(self) -> int:
        return len(self.positions)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CachedTrack)
            and (self.track_id, self.file, self.positions, self.boxes, self.scores)
            == (other.track_id, other.file, other.positions, other.boxes, other.scores)
            and np.array_equal(self.landmarks, other.landmarks)
        )

    def to_json(self) -> dict:
        out = {
            "track_id": self.track_id,
            "file": self.file,
            "positions": self.positions,
            "boxes": self.boxes,
            # float64 before rounding: float32 values would print as 151.6199951171875, not 151.62
            "landmarks": np.round(self.landmarks.astype(np.float64), 2).tolist(),
            "scores": self.scores,
        }
        if self.landmarks68 is not None:
            out["landmarks68"] = np.round(self.landmarks68.astype(np.float64), 1).tolist()
        if self.descriptor is not None:
            out["descriptor"] = np.round(self.descriptor.astype(np.float64), 4).tolist()
        return out

    @classmethod
    def from_json(cls, data: dict) -> CachedTrack:
        landmarks = np.asarray(data["landmarks"], np.float32).reshape(-1, 5, 2)
        lm68 = (
            np.asarray(data["landmarks68"], np.float32).reshape(-1, 68, 2) if "landmarks68" in data else None
        )
        descriptor = np.asarray(data["descriptor"], np.float32) if "descriptor" in data else None
        return cls(
            data["track_id"],
            data["file"],
            data["positions"],
            data["boxes"],
            landmarks,
            data["scores"],
            lm68,
            descriptor,
        )


@dataclass(frozen=True)
class CacheRecord:
    """What `prepare` learnt about one source: status ("ok", "no_face" or "error"), its face tracks, and
    which frames were sampled."""

    source: Source
    status: str
    error: str | None = None
    tracks: list[CachedTrack] = field(default_factory=list)
    frame_index: list[int] = field(default_factory=list)  # position of each sampled frame in the video
    timestamp_s: list[float] = field(default_factory=list)
    seconds: float | None = None  # time taken to prepare it

    @property
    def key(self) -> str:
        return self.source.key

    @property
    def done(self) -> bool:
        """Finished for good (errors are retried by the next `prepare`)."""
        return self.status in ("ok", "no_face")

    def to_json(self) -> dict:
        return dataclasses.asdict(self.source) | {
            "key": self.key,
            "status": self.status,
            "error": self.error,
            "tracks": [t.to_json() for t in self.tracks],
            "frames": len(self.frame_index),
            "frame_index": self.frame_index,
            "timestamp_s": self.timestamp_s,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, data: dict) -> CacheRecord:
        source = Source(
            data["path"],
            data["kind"],
            data["label"],
            data["group"],
            data["origin"],
            data.get("split"),
            data.get("original"),
            data.get("by_identity", False),
            _frame_sizes(data.get("frame_sizes")),
        )
        return cls(
            source,
            data["status"],
            data.get("error"),
            [CachedTrack.from_json(t) for t in data.get("tracks", [])],
            data.get("frame_index", []),
            data.get("timestamp_s", []),
            data.get("seconds"),
        )


def _frame_sizes(value: list | None) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """JSON's [[w, h], [w, h]] back to the tuples `Source.frame_sizes` holds."""
    if value is None:
        return None
    (w1, h1), (w2, h2) = value
    return (w1, h1), (w2, h2)


def summarize(records: dict[str, CacheRecord]) -> dict:
    """Counts for logs and the training summary."""
    statuses = [r.status for r in records.values()]
    return {
        "sources": len(statuses),
        "ok": statuses.count("ok"),
        "no_face": statuses.count("no_face"),
        "error": statuses.count("error"),
        "tracks": sum(len(r.tracks) for r in records.values()),
    }
