"""`deepfake-detect scan --ray ADDRESS PATH... --out results.jsonl`: a bulk scan on a Ray cluster.

Ray Data lists the videos as a dataset of paths and maps them through an actor pool of `ScanActor`s,
one Detector each (the model loads once per actor, not once per video), sized to the cluster's CPUs.
Results stream back to the driver, which writes each as it arrives (`results.py`), so the file grows
while the scan runs, and a rerun resumes. An actor killed mid-scan is restarted by Ray and its
unfinished batch retried (Ray Data's defaults for actor pools: max_restarts=-1, max_task_retries=-1);
the driver keeps the first row per path, so every video ends with exactly one row
(tests/scale/test_bulk.py kills one).

Videos are opened by absolute path on whichever node runs them: the folders must be visible at the
same path on every node (a shared volume; docs/scale-out.md). Measured on the 2-core dev machine
(docs/performance.md): one actor runs at 0.9x the single-process scan (Ray's scheduling and the
driver's round trips), two at 1.9x.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..scanning import error_row, scan_row
from .cluster import connect, pool_size
from .results import ResultsFile

MAX_BLOCKS = 10_000  # a block is the unit Ray retries: one video each, up to this many


class ScanActor:
    """One Detector in one Ray worker process; called with batches of paths, returns JSON rows."""

    def __init__(self, settings: Settings, full: bool, threads: int):
        import torch

        from ..memory import tune_malloc
        from ..pipeline import Detector

        tune_malloc()
        torch.set_num_threads(threads)
        self.detector = Detector.from_settings(settings)
        self.full = full

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        rows = []
        for path, open_as in zip(batch["path"], batch["open"], strict=True):
            try:
                row, _ = scan_row(self.detector, str(path), full=self.full, open_as=str(open_as))
            except Exception as e:  # noqa: BLE001 - a bad video is a row, never a failed scan
                row = error_row(str(path), f"internal error: {type(e).__name__}: {e}")
            rows.append(json.dumps(row))
        return {"row": rows}


@dataclass
class BulkScan:
    """What a bulk scan did: `listed` videos, `skipped` (already in the file), `written` now."""

    listed: int
    skipped: int
    written: int
    errors: int
    actors: int
    seconds: float

    @property
    def videos_per_min(self) -> float:
        return 60 * self.written / self.seconds if self.seconds > 0 else 0.0


def run_bulk_scan(
    address: str,
    files: list[Path],
    out: Path,
    settings: Settings,
    *,
    actors: int | None = None,
    cpus_per_actor: float = 1.0,
    full: bool = False,
    progress: bool = True,
) -> BulkScan:
    from tqdm import tqdm

    t0 = time.perf_counter()
    with ResultsFile(out) as results:
        todo = [{"path": str(p), "open": str(p.resolve())} for p in files if str(p) not in results.done]
        skipped = len(files) - len(todo)
        if not todo:  # nothing to do: not even a connection to the cluster
            return BulkScan(len(files), skipped, 0, 0, 0, time.perf_counter() - t0)
        ray = connect(address)
        n_actors = min(pool_size(actors, cpus_per_actor), len(todo))
        ds = _dataset(ray, todo, settings, n_actors, cpus_per_actor, full)
        with tqdm(
            total=len(files), initial=skipped, desc="scanning", unit="video", disable=not progress
        ) as bar:
            for record in ds.iter_rows():
                if results.add(json.loads(record["row"])):
                    bar.update(1)
        return BulkScan(
            len(files), skipped, results.written, results.errors, n_actors, time.perf_counter() - t0
        )


def _dataset(ray: Any, todo: list[dict], settings: Settings, n: int, cpus: float, full: bool) -> Any:
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False  # ours is per video, with resume
    ds = ray.data.from_items(todo, override_num_blocks=min(len(todo), MAX_BLOCKS))
    return ds.map_batches(
        ScanActor,
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=n),
        num_cpus=cpus,
        fn_constructor_kwargs={"settings": settings, "full": full, "threads": max(1, int(cpus))},
    )
