"""POST /jobs as an upload route (issue 11 on the jobs API): one file per job, stored under the job's
id with no extension, served back only as a video, and an app whose lifespan starts twice still runs
its jobs. The hostile corpus through /jobs is in tests/hostile/test_corpus.py, slow and stalled job
uploads against a real server in tests/hostile/test_server.py."""

from __future__ import annotations

from fastapi.testclient import TestClient
from jobs_helpers import submit, wait_for

from deepfake_detect.api.app import create_app

PROBLEM = "application/problem+json"


def test_two_files_in_one_job_are_refused(jobs_client, video_short, tmp_path):
    client = jobs_client(job_workers=0)
    data = video_short.read_bytes()
    response = client.post("/jobs", files=[("file", ("a.mp4", data)), ("file", ("b.mp4", data))])
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)
    assert "exactly one" in response.json()["detail"]
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_stored_upload_has_no_extension_and_comes_back_only_as_a_video(jobs_client, video_short, tmp_path):
    client = jobs_client(job_workers=0)  # stays queued: the upload stays stored
    page = submit(client, video_short, keep_upload="true")
    stored = [p.name for p in (tmp_path / "data" / "uploads").iterdir()]
    assert stored == [page["id"]] and "." not in stored[0]
    with open(video_short, "rb") as f:
        html = client.post("/jobs", files={"file": ("page.html", f)}).json()
    served = client.get(f"/jobs/{html['id']}/video")
    assert served.status_code == 200 and served.content == video_short.read_bytes()
    assert served.headers["content-type"] == "application/octet-stream"  # never text/html
    assert served.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/jobs/{page['id']}/video").headers["content-type"] == "video/mp4"


def test_a_second_lifespan_runs_jobs_again(
    jobs_db_url, tmp_path, tiny_detector, video_short, app_settings_factory
):
    """The same app started twice (test clients, schemathesis' ASGI transport): its job workers run
    again after the first stop, and its inference pool serves again."""
    data_dir = tmp_path / "data"
    settings = app_settings_factory(data_dir, frames_per_video=4, database_url=jobs_db_url)
    app = create_app(settings, lambda s: tiny_detector)
    for _ in range(2):
        with TestClient(app) as client:
            job = wait_for(client, submit(client, video_short)["id"])
            assert job["state"] == "succeeded", job
            with open(video_short, "rb") as f:
                assert client.post("/predict", files={"file": ("a.mp4", f)}).status_code == 200
    assert list((tmp_path / "data" / "uploads").iterdir()) == []
