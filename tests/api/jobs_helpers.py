"""Helpers of the jobs API tests: submit a video, wait for a job to end."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient


def submit(client: TestClient, path: Path, headers: dict | None = None, **form) -> dict:
    with open(path, "rb") as f:
        r = client.post(
            "/jobs", files={"file": (path.name, f, "video/mp4")}, data=form, headers=headers or {}
        )
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/jobs/{r.json()['id']}"
    return r.json()


def wait_for(
    client: TestClient, job_id: str, states=("succeeded", "failed", "cancelled"), headers=None, within_s=120
):
    """Poll until the job reaches one of `states` (a bound against hangs, not a speed check)."""
    deadline = time.monotonic() + within_s
    while True:
        job = client.get(f"/jobs/{job_id}", headers=headers or {}).json()
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, f"job never reached {states}: {job}"
        time.sleep(0.05)
