"""A picture of one report: P(fake) of every face over time, with the decision threshold.

>>> plot_timeline(report, "clip.png")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .report import VideoReport  # noqa: E402


def plot_timeline(report: VideoReport, path: str | Path) -> Path:
    """Write a PNG: one line per face track (per-frame P(fake)), the threshold, and the verdict."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    try:
        for face in report.faces:
            t = [o.timestamp_s for o in face.observations]
            p = [o.fake_probability for o in face.observations]
            decides = " (decides)" if face.track_id == report.deciding_track_id else ""
            label = f"face {face.track_id}: {face.fake_probability:.2f}{decides}"
            ax.plot(t, p, marker="o", ms=3, lw=2.5 if decides else 1.2, label=label)
        ax.axhline(report.threshold, color="grey", ls="--", lw=1, label=f"threshold {report.threshold:.2f}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("P(fake)")
        verdict: str = report.prediction
        if report.fake_probability is not None:
            verdict += f"  P(fake)={report.fake_probability:.2f}"
        ax.set_title(f"{report.video_name}: {verdict}", fontsize=10)
        if report.faces:
            ax.legend(fontsize=7, loc="upper right", ncol=2)
        else:
            ax.text(0.5, 0.5, "no face found", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
