"""Helpers of the web tests: submit a video as the page does, wait for its job to end."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient


def submit(client: TestClient, path: Path, **form) -> str:
    with open(path, "rb") as f:
        r = client.post("/jobs", files={"file": (path.name, f, "video/mp4")}, data=form)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def finished(client: TestClient, job_id: str, within_s: float = 120) -> dict:
    """Poll until the job ends (a bound against hangs, not a speed check)."""
    deadline = time.monotonic() + within_s
    while (job := client.get(f"/jobs/{job_id}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job
