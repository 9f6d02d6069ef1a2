"""Our pipeline timed per stage on each clip, and |P - P_fp32| between runtimes."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from .records import STAGES, Clip, Run


def time_ours(model_path: Path, runtime: str, clips: list[Clip], reps: int, frames: int, cache: Path | None):
    """Median stage timings per clip for one runtime (in this process, warmed up first, like the server)."""
    from ..config import Settings
    from ..models.checkpoint import load_checkpoint
    from ..pipeline import Detector

    settings = Settings(
        model_path=model_path, runtime=runtime, frames_per_video=frames, runtime_cache_dir=cache
    )
    detector = Detector(load_checkpoint(model_path), settings)
    detector.warmup()
    runs = []
    for clip in clips:
        reports, cpu = [], []
        for _ in range(reps):
            c0 = time.process_time()  # CPU seconds of every thread of this process: less load-dependent
            reports.append(detector.analyze(clip.path))
            cpu.append(time.process_time() - c0)
        timings = {k: statistics.median(getattr(r.timings, k) for r in reports) for k in STAGES}
        timings["cpu_s"] = statistics.median(cpu)
        last = reports[-1]
        runs.append(
            Run(
                runtime=runtime,
                backend=detector.classifier.backend,
                clip=clip.name,
                reps=reps,
                faces=len(last.faces),
                crops=sum(f.frames for f in last.faces),
                timings=timings,
                all_totals=[r.timings.total_s for r in reports],
                probability=last.fake_probability,
                frame_probabilities=[o.fake_probability for f in last.faces for o in f.observations],
            )
        )
    return runs, detector.classifier.describe().model_dump(exclude_none=True)


def probability_diffs(runs: list[Run], reference: list[Run]) -> dict[str, dict]:
    """Per runtime: max |P - P_fp32| over videos and over frames (the same detections on both sides)."""
    ref = {r.clip: r for r in reference}
    out: dict[str, dict] = {}
    for r in runs:
        base = ref.get(r.clip)
        if base is None or r.probability is None or base.probability is None:
            continue
        row = out.setdefault(r.runtime, {"backend": r.backend, "max_video_diff": 0.0, "max_frame_diff": 0.0})
        row["max_video_diff"] = round(max(row["max_video_diff"], abs(r.probability - base.probability)), 4)
        if len(r.frame_probabilities) == len(base.frame_probabilities):
            frame = np.abs(np.subtract(r.frame_probabilities, base.frame_probabilities)).max(initial=0.0)
            row["max_frame_diff"] = round(max(row["max_frame_diff"], float(frame)), 4)
    return out
