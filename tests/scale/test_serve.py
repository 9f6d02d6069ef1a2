"""`serve --ray` on a real two-node cluster: the same app answers /predict, jobs, errors and overload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from ray_helpers import package_env

from deepfake_detect import synthetic
from deepfake_detect.scale.local import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(ray_cluster, tiny_checkpoint, tmp_path_factory):
    """`deepfake-detect serve --ray ADDRESS` in the foreground, 1 replica of 1 worker and no queue (so
    the second concurrent analysis is refused), as a user starts it; Ctrl-C at the end."""
    port = free_port()
    env = {**os.environ, **package_env(), "HOST": "127.0.0.1", "PORT": str(port), "FRAMES_PER_VIDEO": "8",
           "INFERENCE_WORKERS": "1", "MAX_QUEUE": "0", "DATA_DIR": str(tmp_path_factory.mktemp("data")),
           "JOB_POLL_S": "0.1", "MAX_UPLOAD_MB": "20"}  # fmt: skip
    cmd = [sys.executable, "-m", "deepfake_detect.cli", "serve", "--ray", ray_cluster.address,
           "--replicas", "1", "--model", str(tiny_checkpoint)]  # fmt: skip
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if client.get("/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(1)
    else:
        pytest.fail(f"serve --ray not ready in 240 s: {log.read_text()[-3000:]}")
    yield client
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()


def post(client: httpx.Client, path: str, video: Path, route: str = "/predict") -> httpx.Response:
    with video.open("rb") as f:
        return client.post(route, files={"file": (video.name, f, "video/mp4")})


def test_predict_answers_as_the_single_process_server(served, video_mp4, tiny_detector):
    r = post(served, "/predict", video_mp4)
    assert r.status_code == 200, r.text
    got, want = r.json(), tiny_detector.analyze(video_mp4, video_mp4.name).model_dump(mode="json")
    for key in ("prediction", "fake_probability", "confidence", "raw_score", "frames_analyzed", "model_id"):
        assert got[key] == want[key], key
    assert [f["observations"] for f in got["faces"]] == [f["observations"] for f in want["faces"]]
    health = served.get("/health").json()
    assert health["status"] == "healthy" and health["model_id"] == want["model_id"]
    assert got["video"]["sha256"] == want["video"]["sha256"]  # the replica hashed the file it was sent
    assert served.get("/static-offline-docs/swagger-ui.css").status_code == 200  # /docs' files, via Serve


def test_errors_are_the_same_problems(served, text_as_mp4):
    r = post(served, "/predict", text_as_mp4)
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"
    assert "not a video" in r.json()["detail"]


def test_a_job_runs_on_the_replicas(served, video_mp4):
    r = post(served, "/predict", video_mp4, route="/jobs")
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    deadline = time.monotonic() + 60
    while (job := served.get(location).json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "succeeded" and job["result"]["faces"], job


def test_overload_answers_503_with_retry_after(served, tmp_path):
    slow = synthetic.render_video(tmp_path / "long.mp4", width=640, height=480, n_frames=120)
    answers: list[httpx.Response] = []

    def one() -> None:
        answers.append(post(served, "/predict", slow))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(120)
    codes = sorted(a.status_code for a in answers)
    assert 200 in codes and 503 in codes, codes
    refused = next(a for a in answers if a.status_code == 503)
    assert int(refused.headers["retry-after"]) > 0 and "busy" in refused.json()["detail"]
