"""Plain records shared by the bench's parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

STAGES = ("decode_s", "detect_s", "crop_s", "classify_s", "aggregate_s", "total_s")
SHARED_REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "videos" / "real"


@dataclass
class Clip:
    name: str
    path: Path
    width: int
    height: int
    seconds: float
    source: str  # "synthetic" or "shared"


@dataclass
class Run:
    """Our pipeline on one clip with one runtime: median stage timings and the probabilities."""

    runtime: str
    backend: str
    clip: str
    reps: int
    faces: int
    crops: int
    timings: dict[str, float]
    all_totals: list[float]
    probability: float | None
    frame_probabilities: list[float] = field(default_factory=list)
