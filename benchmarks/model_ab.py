"""Two checkpoints on one clip, analyses interleaved in one process: per-stage medians (docs/performance.md).

    .venv/bin/python benchmarks/model_ab.py CLIP A.safetensors B.safetensors [--reps 16]

`deepfake-detect bench` times one checkpoint per run; on a host whose speed drifts between runs (a
shared VM: the same code's 1080p total moved 1.15-1.72 s within minutes) two runs compare the drift as
much as the models. Here both detectors are loaded and warmed up, then analyse the clip in turns (ABBA
order), so the drift falls on both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from deepfake_detect.config import Settings
from deepfake_detect.models.checkpoint import load_checkpoint
from deepfake_detect.pipeline import Detector

STAGES = ("decode_s", "detect_s", "crop_s", "classify_s", "total_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip")
    parser.add_argument("models", nargs=2, type=Path)
    parser.add_argument("--reps", type=int, default=16, help="analyses per checkpoint")
    args = parser.parse_args()
    detectors = {}
    for path in args.models:
        detector = Detector(load_checkpoint(path), Settings(model_path=path))
        detector.warmup()
        detector.analyze(args.clip)
        detectors[path.name] = detector
    rows: dict[str, list[list[float]]] = {name: [] for name in detectors}
    for rep in range(args.reps):
        for name in list(detectors)[:: 1 if rep % 2 == 0 else -1]:
            c0 = time.process_time()
            report = detectors[name].analyze(args.clip)
            cpu = time.process_time() - c0
            rows[name].append([getattr(report.timings, k) for k in STAGES] + [cpu])
    for name, runs in rows.items():
        med = [statistics.median(r[i] for r in runs) for i in range(len(STAGES) + 1)]
        totals = sorted(r[len(STAGES) - 1] for r in runs)
        stages = ", ".join(f"{k[:-2]} {v:.3f}" for k, v in zip(STAGES, med, strict=False))
        print(
            f"{name} ({detectors[name].classifier.backend}): {stages} s; CPU {med[-1]:.2f} s; "
            f"total {totals[0]:.2f}-{totals[-1]:.2f} s"
        )


if __name__ == "__main__":
    main()
