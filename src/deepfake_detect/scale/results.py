"""The results file of a bulk scan: JSON Lines, one `scanning.scan_row` per video, keyed by `path`.

Only the driver writes it, one line per finished video, flushed at once: an interrupted scan keeps
everything it finished, and a rerun skips those videos (the resume). A line torn by a kill in the
middle of a write is cut off when the file is reopened. A row whose path is already in the file is
not written again, so a retried task (Ray re-runs the work of a killed actor) cannot add a duplicate.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any


class ResultsFile:
    def __init__(self, path: Path):
        self.path = path
        self.done: set[str] = set()
        self.written = 0
        self.errors = 0
        self._file: IO[str] | None = None
        if path.exists():
            self._read()

    def _read(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line: drop it, that video is analysed again
            with self.path.open("r+b") as f:
                f.truncate(end)
        for line in data[:end].decode().splitlines():
            try:
                self.done.add(json.loads(line)["path"])
            except (ValueError, KeyError, TypeError):
                continue  # not one of ours; kept as it is

    def __enter__(self) -> ResultsFile:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def add(self, row: dict[str, Any]) -> bool:
        """Append one row unless its video already has one; True when written."""
        assert self._file is not None, "use ResultsFile as a context manager"
        if row["path"] in self.done:
            return False
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())  # ~0.1 ms against ~1 s of analysis per video
        self.done.add(row["path"])
        self.written += 1
        self.errors += row.get("prediction") is None  # NO_FACE is a verdict; None is a failure
        return True
