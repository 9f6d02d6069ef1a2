"""Jobs per minute with 1 and 2 `deepfake-detect worker` processes, in one run (docs/jobs.md).

For each worker count: a fresh data directory and database, the workers started and warmed up
first (their start-up is not timed), then N jobs of a 10 s 720p clip queued at once through the
JobStore (as POST /jobs does), timed until the last one succeeds. Torch threads are split so every
configuration uses the same cores (2 cores: 1 process x 2 threads, or 2 processes x 1 thread).

    nice -n 10 .venv/bin/python benchmarks/jobs_throughput.py --jobs 12 --workers 1,2 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def render_clip(path: Path) -> Path:
    from deepfake_detect.synthetic import render_video

    if not path.is_file():  # the bench's 720p clip: 10 s at 25 fps, one face
        render_video(path, width=1280, height=720, fps=25, n_frames=250, face_scale=0.35, seed=1280)
    return path


def start_workers(count: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    procs = []
    for i in range(count):
        out = open(logs / f"worker{i}.log", "wb")
        cmd = [sys.executable, "-m", "deepfake_detect.cli", "worker"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 600
    while not all("thread(s) on" in (logs / f"worker{i}.log").read_text() for i in range(count)):
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            raise RuntimeError("a worker did not start: " + (logs / "worker0.log").read_text()[-2000:])
        time.sleep(0.5)
    return procs


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(clip: Path, n_jobs: int, workers: int, database_url: str | None, cores: int) -> dict:
    from deepfake_detect.config import Settings
    from deepfake_detect.jobs.db import database_url as url_of
    from deepfake_detect.jobs.db import make_engine, upgrade
    from deepfake_detect.jobs.files import UploadStore
    from deepfake_detect.jobs.schema import Job
    from deepfake_detect.jobs.store import JobStore, new_job_id

    work = Path(tempfile.mkdtemp(prefix="dfd-jobs-bench-"))
    env = dict(os.environ, DATA_DIR=str(work / "data"), TORCH_THREADS=str(max(1, cores // workers)))
    env["JOB_POLL_S"] = "0.2"
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = Settings(data_dir=work / "data", database_url=database_url)
    engine = make_engine(url_of(settings))
    upgrade(engine)
    store, uploads = JobStore(engine), UploadStore(settings.data_dir)
    with store.session.begin() as s:  # a shared PostgreSQL database starts empty too
        s.query(Job).delete()
    procs = start_workers(workers, env, work)
    load_before = os.getloadavg()[0]
    cpu0 = sum(cpu_seconds(p.pid) for p in procs)
    t0 = time.monotonic()
    for i in range(n_jobs):
        job_id = new_job_id()
        shutil.copyfile(clip, uploads.path(job_id))
        store.create(job_id, "", f"clip{i}.mp4", clip.stat().st_size)
    while (done := store.counts_by_state().get("succeeded", 0)) < n_jobs:
        if store.counts_by_state().get("failed"):
            raise RuntimeError("a job failed")
        time.sleep(0.1)
    seconds = time.monotonic() - t0
    cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
    with store.session() as s:
        per_worker: dict[str, int] = {}
        for job in s.query(Job):
            per_worker[job.worker.split("/")[0]] = per_worker.get(job.worker.split("/")[0], 0) + 1
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(60)
    engine.dispose()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "workers": workers,
        "torch_threads": max(1, cores // workers),
        "jobs": done,
        "seconds": round(seconds, 1),
        "jobs_per_min": round(done / seconds * 60, 2),
        "jobs_per_worker": sorted(per_worker.values()),
        "worker_cpu_s_per_job": round(cpu / done, 2),
        "worker_cpu_share": round(cpu / seconds / cores, 2),  # of all cores, over the timed span
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker process counts")
    parser.add_argument("--repeat", type=int, default=1, help="rounds over the worker counts")
    parser.add_argument("--database-url", help="default: SQLite in a fresh data directory")
    parser.add_argument("--clip", type=Path, default=Path(tempfile.gettempdir()) / "dfd_720p_10s.mp4")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    clip = render_clip(args.clip)
    cores = os.cpu_count() or 1
    rows = []
    for _ in range(args.repeat):
        for workers in (int(w) for w in args.workers.split(",")):
            rows.append(run_once(clip, args.jobs, workers, args.database_url, cores))
            print(json.dumps(rows[-1]), flush=True)
    mean = {}
    for r in rows:
        mean.setdefault(r["workers"], []).append(r["jobs_per_min"])
    mean = {k: sum(v) / len(v) for k, v in mean.items()}
    summary = {"cores": cores, "nice": os.nice(0), "clip": "synthetic 1280x720, 10 s, 25 fps", "runs": rows}
    summary["mean_jobs_per_min"] = {str(k): round(v, 2) for k, v in mean.items()}
    if 1 in mean:
        summary["ratio_vs_1_worker"] = {str(k): round(v / mean[1], 2) for k, v in mean.items()}
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
