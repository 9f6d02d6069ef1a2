"""`deepfake-detect worker` runs jobs a server accepted (server with JOB_WORKERS=0, same database and
data directory), and `db` / `keys` work from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from deepfake_detect import Settings
from deepfake_detect.api.app import create_app
from deepfake_detect.cli import main

pytestmark = pytest.mark.slow


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deepfake_detect.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_worker_process_runs_the_queue_and_exits_when_idle(
    jobs_db_url, tmp_path, tiny_checkpoint, video_short
):
    settings = Settings(data_dir=tmp_path / "data", database_url=jobs_db_url, job_workers=0, warmup=False)
    env = dict(
        os.environ,
        DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=jobs_db_url,
        MODEL_PATH=str(tiny_checkpoint),
        RUNTIME="torch",
        WARMUP="false",
        TORCH_THREADS="1",
        JOB_POLL_S="0.1",
    )
    with TestClient(create_app(settings, detector_factory=lambda s: None)) as client:
        # no model in this server: it only accepts (JOB_WORKERS=0), the worker process analyses
        ids = []
        for i in range(3):
            with open(video_short, "rb") as f:
                r = client.post("/jobs", files={"file": (f"{i}.mp4", f)})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        done = cli("worker", "--exit-when-idle", env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        jobs = [client.get(f"/jobs/{i}").json() for i in ids]
    assert [j["state"] for j in jobs] == ["succeeded"] * 3
    assert all(j["result"]["video_name"] == f"{i}.mp4" for i, j in enumerate(jobs))
    assert list((tmp_path / "data" / "uploads").iterdir()) == []
    assert "1 thread(s)" in done.stderr


def test_db_and_keys_commands(jobs_db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", jobs_db_url)

    def run(*args: str) -> tuple[int, str]:
        code = main(list(args))
        return code, capsys.readouterr().out

    code, out = run("db", "upgrade")
    assert code == 0 and "at revision 0002 (head 0002)" in out
    code, out = run("keys", "create", "newsroom", "--rate-limit", "60/minute")
    made = json.loads(out)
    assert code == 0 and made["key"].startswith("dfd_") and made["webhook_secret"].startswith("whsec_")
    code, out = run("keys", "list")
    assert '"newsroom"' in out and made["key"] not in out  # stored hashed
    assert run("keys", "create", "newsroom")[0] == 1
    assert run("keys", "create", "x", "--rate-limit", "lots")[0] == 1
    assert run("keys", "revoke", "newsroom")[0] == 0
    assert run("keys", "revoke", "newsroom")[0] == 1
