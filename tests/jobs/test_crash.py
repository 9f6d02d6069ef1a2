"""A job accepted is never lost: `kill -9` a real server (uvicorn in a subprocess, on a free loopback
port) while jobs are queued and running, start it again, and every job finishes exactly once, with no
upload left behind. On SQLite and on PostgreSQL.

"Exactly once" is read from the servers' own logs: each committed result logs "job <id> succeeded",
so a job recorded twice would show twice across the two runs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from deepfake_detect import synthetic

pytestmark = pytest.mark.slow
N_JOBS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`deepfake-detect serve` in a subprocess, its output in a log file."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.url = f"http://127.0.0.1:{env['PORT']}"
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "deepfake_detect.cli", "serve"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 180
        while True:
            assert self.process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


@pytest.fixture(scope="module")
def crash_clip(media_dir: Path) -> Path:
    """Big enough that one analysis takes a noticeable moment (480x360, 60 frames)."""
    return synthetic.render_video(media_dir / "crash.mp4", width=480, height=360, n_frames=60)


def test_kill_9_with_jobs_queued_and_running_loses_nothing(
    jobs_db_url, tiny_checkpoint, crash_clip, tmp_path
):
    data_dir = tmp_path / "data"
    env = dict(
        os.environ,
        PORT=str(free_port()),
        HOST="127.0.0.1",
        DATA_DIR=str(data_dir),
        DATABASE_URL=jobs_db_url,
        MODEL_PATH=str(tiny_checkpoint),
        RUNTIME="torch",
        FRAMES_PER_VIDEO="16",
        WARMUP="false",
        TORCH_THREADS="1",
        JOB_LEASE_S="3",
        JOB_POLL_S="0.1",
    )
    logs = [tmp_path / "server1.log", tmp_path / "server2.log"]
    server = Server(env, logs[0])
    try:
        ids = []
        for i in range(N_JOBS):
            with open(crash_clip, "rb") as f:
                r = httpx.post(f"{server.url}/jobs", files={"file": (f"clip{i}.mp4", f)}, timeout=30)
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 180
        while True:  # wait until some are done, one is running and the rest wait
            states = Counter(j["state"] for j in httpx.get(f"{server.url}/jobs", timeout=10).json()["items"])
            if states["succeeded"] >= 2 and states["running"] == 1 and states["queued"] >= 1:
                break
            assert time.monotonic() < deadline and states["queued"] > 0, states
            time.sleep(0.05)
        running = [j["id"] for j in httpx.get(f"{server.url}/jobs?state=running").json()["items"]]
        server.kill9()
        at_kill = dict(states)
        assert sorted(p.name for p in (data_dir / "uploads").iterdir())  # uploads of unfinished jobs remain

        server = Server(env, logs[1])
        deadline = time.monotonic() + 300
        while True:
            jobs = httpx.get(f"{server.url}/jobs", params={"limit": 100}, timeout=10).json()["items"]
            if all(j["state"] not in ("queued", "running") for j in jobs):
                break
            assert time.monotonic() < deadline, Counter(j["state"] for j in jobs)
            time.sleep(0.2)
    finally:
        server.stop()

    by_id = {j["id"]: j for j in jobs}
    assert sorted(by_id) == sorted(ids)
    assert {j["state"] for j in jobs} == {"succeeded"}
    assert [by_id[i]["attempts"] for i in running] == [2]  # the killed one ran again
    assert sum(j["attempts"] for j in jobs) == N_JOBS + 1
    completions = Counter(re.findall(r"job ([0-9a-f]{28}) succeeded", "".join(p.read_text() for p in logs)))
    assert sorted(completions) == sorted(ids) and set(completions.values()) == {1}  # duplicates: 0
    assert list((data_dir / "uploads").iterdir()) == []
    figures = {
        "database": jobs_db_url.split(":")[0],
        "submitted": N_JOBS,
        "at_kill": at_kill,
        "completed": len(completions),
        "duplicates": sum(n - 1 for n in completions.values()),
        "re_run_after_kill": len(running),
        "uploads_left": 0,
    }
    print("crash test:", json.dumps(figures))
