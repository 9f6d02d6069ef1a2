"""The hostile-media corpus through `/predict`, `/predict/batch`, `POST /jobs` and `scan`.

Every case: the documented status (4xx problem+json with a reason; never a 5xx, never a verdict for
a non-video), the server still healthy, no temporary file left, and the canary never opened. A job
accepts any upload (202) and analyses it later, exactly as /predict does: a hostile file ends as a
`failed` job whose `error` is the problem /predict answers, its stored upload is deleted, and the
worker goes on with the next job.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hostile_corpus import CASES, PROBLEM, assert_problem

from deepfake_detect.api.app import create_app
from deepfake_detect.cli import main

RESULTS: dict[str, dict] = {}  # case -> what each entry point answered (printed as a table at the end)


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")  # the jobs' SQLite database and stored uploads


@pytest.fixture(scope="module")
def client(tiny_detector, upload_dir: Path, data_dir: Path, app_settings_factory):
    settings = app_settings_factory(
        data_dir, frames_per_video=4, upload_dir=upload_dir, max_batch_files=len(CASES) + 1
    )
    with TestClient(create_app(settings, lambda s: tiny_detector)) as c:
        yield c


def _check_answer(case, status: int, detail: str | None, prediction: str | None) -> None:
    assert status == case.status, (case.name, status, detail)
    if case.status == 200:
        assert prediction in ("REAL", "FAKE", "NO_FACE")
    else:
        assert prediction is None and case.reason in detail.lower(), (case.name, detail)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_predict(client, corpus, upload_dir, canary, case):
    path = corpus[case.name]
    with open(path, "rb") as f:
        response = client.post("/predict", files={"file": (path.name, f, "video/mp4")})
    assert response.status_code < 500
    if case.status == 200:
        body = response.json()
        _check_answer(case, response.status_code, None, body["prediction"])
        detail = f"{body['prediction']}, {body['frames_analyzed']} frames"
    else:
        body = assert_problem(response, case.status)
        _check_answer(case, response.status_code, body["detail"], None)
        detail = body["detail"]
    assert canary.token not in response.text and "deepfake-upload" not in response.text
    assert client.get("/health").json()["status"] == "healthy"
    left = list(upload_dir.iterdir())
    assert left == []
    RESULTS[case.name] = {"status": response.status_code, "reason": detail, "left": len(left)}


def test_batch(client, corpus, upload_dir, canary, video_short):
    """All cases in one batch beside a good video: each gets its own error, the good one its verdict."""
    files = [("files", ("good.mp4", video_short.read_bytes(), "video/mp4"))]
    files += [("files", (corpus[c.name].name, corpus[c.name].read_bytes(), "video/mp4")) for c in CASES]
    response = client.post("/predict/batch", files=files)
    assert response.status_code == 200, response.text
    good, *items = response.json()["predictions"]
    assert good["prediction"] in ("REAL", "FAKE", "NO_FACE") and good["error"] is None
    for case, item in zip(CASES, items, strict=True):
        _check_answer(case, item["status"], item["error"], item["prediction"])
        if case.status != 200:
            assert item["problem"]["status"] == case.status and item["problem"]["type"].startswith("urn:")
        RESULTS[case.name]["batch"] = item["status"]
    assert canary.token not in response.text
    assert list(upload_dir.iterdir()) == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_jobs(client, corpus, upload_dir, data_dir, canary, case):
    """Submitted as a job: 202 at once, then `failed` with /predict's problem (or `succeeded` for
    the one real video); the stored upload is gone; the worker takes the next job as before."""
    path = corpus[case.name]
    with open(path, "rb") as f:
        response = client.post("/jobs", files={"file": (path.name, f, "video/mp4")})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + 120  # a bound against hangs, not a speed check
    while (job := client.get(f"/jobs/{job_id}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    if case.status == 200:
        assert job["state"] == "succeeded" and job["error"] is None, job
        _check_answer(case, 200, None, job["prediction"])
        outcome = f"succeeded {job['prediction']}"
    else:
        error = job["error"]
        assert job["state"] == "failed" and job["result"] is None and job["prediction"] is None, job
        assert error["type"].startswith("urn:deepfake-detect:problem:") and error["title"], error
        assert error["instance"] == f"/jobs/{job_id}"
        _check_answer(case, error["status"], error["detail"], None)
        if case.name in RESULTS:  # the very problem /predict answered (test_predict ran first)
            assert error["detail"] == RESULTS[case.name]["reason"]
        outcome = f"failed {error['status']}"
    text = json.dumps(job)
    assert canary.token not in text and "deepfake-upload" not in text and str(data_dir) not in text
    # The worker records the result, then unlinks the upload (a crash in between leaves a file for
    # `sweep`, never a job without its file): allow that step a moment after the state is visible.
    deadline = time.monotonic() + 5
    while (left := list((data_dir / "uploads").iterdir()) + list(upload_dir.iterdir())) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert left == []
    assert client.get("/health").json()["status"] == "healthy"
    RESULTS.setdefault(case.name, {"status": None, "reason": None, "left": 0})
    RESULTS[case.name]["jobs"] = outcome
    RESULTS[case.name]["jobs_left"] = len(left)


def test_scan(corpus, tiny_checkpoint, canary, capsys):
    paths = [str(corpus[c.name]) for c in CASES]
    assert main(["scan", "--json", "--frames", "4", "--model", str(tiny_checkpoint), *paths]) == 0
    out = capsys.readouterr()
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert [r["path"] for r in rows] == paths
    for case, row in zip(CASES, rows, strict=True):
        if case.status == 200:
            assert row["prediction"] in ("REAL", "FAKE", "NO_FACE")
        else:
            assert row["prediction"] is None and case.reason in row["reason"].lower(), (case.name, row)
        RESULTS[case.name]["scan"] = row["prediction"] or "error"
    assert canary.token not in out.out + out.err


def test_scan_reports_a_missing_file_and_goes_on(tiny_checkpoint, tmp_path, video_short, capsys):
    args = ["scan", "--json", "--frames", "4", "--model", str(tiny_checkpoint)]
    assert main([*args, str(tmp_path / "gone.mp4"), str(video_short)]) == 0
    missing, good = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert missing["prediction"] is None and "cannot read" in missing["reason"]
    assert good["prediction"] in ("REAL", "FAKE", "NO_FACE")


def test_canary_never_read(canary, caplog):
    """Runs after the corpus: nothing opened the canary; its token is in no log record."""
    assert not canary.opened.is_set()
    assert canary.token not in caplog.text
    assert all(logging.getLevelName(r.levelno) for r in caplog.records)
    width = max(len(name) for name in RESULTS)
    header = "| /predict | batch | POST /jobs | scan | temp files left (predict, jobs) | reason |"
    print(f"\n| case{' ' * (width - 4)} {header}")
    for name, r in RESULTS.items():
        left = f"{r['left']}, {r.get('jobs_left')}"
        cells = [f"{name:{width}}", r["status"], r.get("batch"), r.get("jobs"), r.get("scan"), left]
        cells.append(r["reason"])
        print("| " + " | ".join(map(str, cells)) + " |")


def test_a_tiny_video_is_no_face_not_an_error(client, tmp_path):
    """Frames smaller than the smallest face MTCNN looks for (MTCNN itself crashed on them; found by
    fuzzing the upload path)."""
    from deepfake_detect import synthetic

    path = synthetic.render_video(tmp_path / "tiny.mp4", width=16, height=16, n_frames=4)
    with open(path, "rb") as f:
        response = client.post("/predict", files={"file": ("tiny.mp4", f)})
    assert response.status_code == 200 and response.json()["prediction"] == "NO_FACE"


def test_problem_content_type(client):
    response = client.post("/predict", files={"file": ("x.mp4", b"plain text\n" * 10)})
    assert response.headers["content-type"].startswith(PROBLEM)
