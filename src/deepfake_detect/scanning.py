"""One `scan` result row per video: the JSON object `scan --json` prints and `scan --ray` writes.

Both scan paths (cli.py on one machine, scale/bulk.py on a Ray cluster) build their rows here, so a
results file does not depend on where it was computed. A video that cannot be analysed is a row with
`prediction: null` and the reason, never a failed scan.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DetectorError

if TYPE_CHECKING:  # the CLI imports this module; torch loads only when a scan starts
    from .pipeline import Detector
    from .report import VideoReport

Row = dict[str, Any]


def error_row(path: str, reason: str) -> Row:
    return {"path": path, "prediction": None, "fake_probability": None, "reason": reason}


def scan_row(
    detector: Detector, path: str, *, full: bool = False, open_as: str | os.PathLike | None = None
) -> tuple[Row, VideoReport | None]:
    """Analyse `open_as` (default `path`) and describe it as `path`: the name given on the command line,
    which is also the key `scan --ray` resumes by."""
    try:
        report = detector.analyze(Path(open_as or path), Path(path).name)
    except DetectorError as e:
        return error_row(path, e.detail), None
    except OSError as e:  # gone, unreadable, a folder: say so and go on with the next file
        return error_row(path, f"cannot read the file: {e.strerror or type(e).__name__}"), None
    row: Row = {
        "path": path,
        "prediction": report.prediction,
        "fake_probability": report.fake_probability,
        "confidence": report.confidence,
        "faces": len(report.faces),
        "frames": report.frames_analyzed,
        "seconds": report.timings.total_s,
        "reason": report.message,
        "sha256": report.video.sha256,  # the exact file judged: for chain of custody and de-duplication
    }
    if full:
        row["report"] = report.model_dump(mode="json")
    return row, report
