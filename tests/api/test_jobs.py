"""The jobs API on SQLite and PostgreSQL: submit, poll, list, cancel, delete, idempotency, purge."""

from __future__ import annotations

import hashlib
import threading
import time

from jobs_helpers import submit, wait_for

PROBLEM = "application/problem+json"


def test_submit_answers_202_then_the_same_report_as_predict(jobs_client, video_two_faces, tmp_path):
    client = jobs_client()
    accepted = submit(client, video_two_faces)
    assert accepted["state"] in ("queued", "running") and accepted["result"] is None
    job = wait_for(client, accepted["id"])
    assert job["state"] == "succeeded", job
    report = job["result"]
    assert report["video_name"] == "two_faces.mp4" and len(report["faces"]) == 2
    assert report["frames_analyzed"] == 8 and report["prediction"] in ("REAL", "FAKE")
    assert job["prediction"] == report["prediction"] and job["fake_probability"] == report["fake_probability"]
    assert job["progress"] == {"stage": "done", "done": 2, "total": 2}  # face tracks classified
    assert job["attempts"] == 1 and job["error"] is None
    sha256 = hashlib.sha256(video_two_faces.read_bytes()).hexdigest()  # names the exact file judged
    assert report["video"]["sha256"] == job["upload_sha256"] == sha256
    assert report["video"]["size_bytes"] == job["upload_bytes"] == video_two_faces.stat().st_size
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    with open(video_two_faces, "rb") as f:
        direct = client.post("/predict", files={"file": ("two_faces.mp4", f)}).json()
    assert direct["fake_probability"] == report["fake_probability"]
    assert [f["observations"] for f in direct["faces"]] == [f["observations"] for f in report["faces"]]
    assert list((tmp_path / "data" / "uploads").iterdir()) == []  # the upload went when the job ended


def test_bad_media_fail_the_job_with_the_problem_predict_gives(jobs_client, text_as_mp4, video_truncated):
    client = jobs_client()
    for path, status in ((text_as_mp4, 415), (video_truncated, 422)):
        job = wait_for(client, submit(client, path)["id"])
        assert job["state"] == "failed" and job["result"] is None
        assert job["error"]["status"] == status and job["error"]["type"].startswith("urn:deepfake-detect:")
        assert job["error"]["instance"] == f"/jobs/{job['id']}"


def test_idempotency_key_returns_the_same_job(jobs_client, video_short, video_mp4, tmp_path):
    client = jobs_client(job_workers=0)  # nothing runs: the jobs stay queued
    key = {"Idempotency-Key": "upload-42"}
    first = submit(client, video_short, headers=key)
    assert first["upload_sha256"] == hashlib.sha256(video_short.read_bytes()).hexdigest()
    with open(video_short, "rb") as f:  # a retry may name the file differently: the bytes decide
        again = client.post("/jobs", files={"file": ("x.mp4", f)}, headers=key)
    assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first["id"] and again.json()["video_name"] == "short.mp4"
    other = submit(client, video_short, headers={"Idempotency-Key": "upload-43"})
    assert other["id"] != first["id"]
    # The same key with another video, callback or keep_upload: refused, never the first video's job.
    for path, form, changed in (
        (video_mp4, {}, "another file"),
        (video_short, {"keep_upload": "true"}, "another keep_upload"),
    ):
        with open(path, "rb") as f:
            reused = client.post("/jobs", files={"file": ("short.mp4", f)}, data=form, headers=key)
        assert reused.status_code == 422 and reused.headers["content-type"].startswith(PROBLEM)
        problem = reused.json()
        assert problem["type"].endswith(":idempotency-key-reused") and first["id"] in problem["detail"]
        assert changed in problem["detail"], problem
    assert sorted(p.name for p in (tmp_path / "data" / "uploads").iterdir()) == sorted(
        [first["id"], other["id"]]
    )
    assert len(client.get("/jobs").json()["items"]) == 2


def test_history_finds_a_files_earlier_jobs_by_its_sha256(jobs_client, video_short, video_mp4):
    """A platform asks "was this file analysed before?" with a hash it computed, before uploading it."""
    client = jobs_client(job_workers=0)
    short = [submit(client, video_short)["id"] for _ in range(2)]
    submit(client, video_mp4)
    digest = hashlib.sha256(video_short.read_bytes()).hexdigest()
    found = client.get("/jobs", params={"sha256": digest.upper()}).json()["items"]  # any case
    assert [j["id"] for j in found] == short[::-1] and {j["upload_sha256"] for j in found} == {digest}
    assert client.get("/jobs", params={"sha256": "0" * 64}).json()["items"] == []
    bad = client.get("/jobs", params={"sha256": "not-a-hash"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)


def test_a_reused_key_that_loses_the_race_is_checked_too(
    jobs_client, video_short, video_mp4, monkeypatch, tmp_path
):
    """Two requests with one key at once: the second finds no job, stores its upload, loses on the
    unique constraint and reads the first back; with another file it is refused all the same."""
    from deepfake_detect.jobs.store import JobStore

    client = jobs_client(job_workers=0)
    first = submit(client, video_short, headers={"Idempotency-Key": "k"})
    lookup, calls = JobStore.find_idempotent, []

    def late(self, *args):  # the route's own lookup runs before the first job is visible
        calls.append(args)
        return None if len(calls) == 1 else lookup(self, *args)

    monkeypatch.setattr(JobStore, "find_idempotent", late)
    with open(video_mp4, "rb") as f:
        raced = client.post("/jobs", files={"file": ("one_face.mp4", f)}, headers={"Idempotency-Key": "k"})
    assert raced.status_code == 422 and first["id"] in raced.json()["detail"]
    assert len(calls) == 2  # the route's lookup, then the read-back after the unique constraint
    assert [p.name for p in (tmp_path / "data" / "uploads").iterdir()] == [first["id"]]


def test_history_pages_with_a_cursor_and_filters(jobs_client, video_short, video_no_face):
    client = jobs_client()
    ids = [wait_for(client, submit(client, video_short)["id"])["id"] for _ in range(3)]
    no_face = wait_for(client, submit(client, video_no_face)["id"])
    assert no_face["prediction"] == "NO_FACE"
    ids.append(no_face["id"])
    page1 = client.get("/jobs", params={"limit": 3}).json()
    assert [j["id"] for j in page1["items"]] == ids[::-1][:3] and page1["next_cursor"]
    page2 = client.get("/jobs", params={"limit": 3, "cursor": page1["next_cursor"]}).json()
    assert [j["id"] for j in page2["items"]] == [ids[0]] and page2["next_cursor"] is None
    assert "result" not in page1["items"][0]  # the list carries summaries; the report is on /jobs/{id}
    only = client.get("/jobs", params={"prediction": "NO_FACE"}).json()["items"]
    assert [j["id"] for j in only] == [no_face["id"]]
    assert client.get("/jobs", params={"state": ["queued", "running"]}).json()["items"] == []
    assert len(client.get("/jobs", params={"state": "succeeded"}).json()["items"]) == 4
    cut = client.get(f"/jobs/{ids[2]}").json()["created_at"]
    newer = client.get("/jobs", params={"created_after": cut}).json()["items"]
    older = client.get("/jobs", params={"created_before": cut}).json()["items"]
    assert {j["id"] for j in newer} == set(ids[2:]) and {j["id"] for j in older} == set(ids[:2])
    for mangled in ("../etc", "0", page1["next_cursor"][:-1], page1["next_cursor"].upper()):
        bad = client.get("/jobs", params={"cursor": mangled})  # not an empty last page: an error
        assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
        assert "next_cursor" in bad.json()["detail"]
    lost = client.get("/jobs", params={"state": ["succeeded", "lost"]})
    assert lost.status_code == 422 and lost.json()["detail"].startswith("the request is not valid: state:")


def test_cancel_a_queued_job_and_delete_a_finished_one(jobs_client, video_short, tmp_path):
    uploads = tmp_path / "data" / "uploads"
    client = jobs_client(job_workers=0)
    queued = submit(client, video_short)
    cancelled = client.delete(f"/jobs/{queued['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert not (uploads / queued["id"]).exists()
    gone = client.delete(f"/jobs/{queued['id']}")  # a finished (cancelled) job: deleted outright
    assert gone.status_code == 204 and gone.content == b""
    missing = client.get(f"/jobs/{queued['id']}")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    assert client.delete(f"/jobs/{queued['id']}").status_code == 404


def test_cancelling_a_running_job_stops_it_at_the_next_stage(
    jobs_client, tiny_detector, video_short, tmp_path
):
    in_detect, release = threading.Event(), threading.Event()

    class Paused:
        """The tiny model, holding at the start of face detection until the test releases it."""

        def __getattr__(self, name):
            return getattr(tiny_detector, name)

        def analyze(self, path, name=None, progress=None):
            def hold(event):
                progress(event)
                if event.stage == "detect" and event.done == 0:
                    in_detect.set()
                    release.wait(30)

            return tiny_detector.analyze(path, name, hold)

    client = jobs_client(detector=Paused())
    job = submit(client, video_short, keep_upload="true")
    assert in_detect.wait(60)
    running = client.get(f"/jobs/{job['id']}").json()
    assert running["state"] == "running" and running["progress"]["stage"] == "detect"
    assert client.get(f"/jobs/{job['id']}/video").content == video_short.read_bytes()  # while it runs
    assert client.delete(f"/jobs/{job['id']}").json()["state"] == "cancelled"
    release.set()
    time.sleep(0.5)  # let the worker reach its next stage and notice
    after = client.get(f"/jobs/{job['id']}").json()
    assert after["state"] == "cancelled" and after["result"] is None and after["finished_at"]
    assert not (tmp_path / "data" / "uploads" / job["id"]).exists()


def test_keep_upload_serves_the_video_until_the_job_is_deleted(jobs_client, video_short):
    client = jobs_client()
    job = wait_for(client, submit(client, video_short, keep_upload="true")["id"])
    assert job["keep_upload"] and job["links"]["video"] == f"/jobs/{job['id']}/video"
    video = client.get(job["links"]["video"])
    assert video.status_code == 200 and video.content == video_short.read_bytes()
    assert video.headers["content-type"] == "video/mp4" and video.headers["accept-ranges"] == "bytes"
    part = client.get(job["links"]["video"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == video_short.read_bytes()[:100]
    plain = wait_for(client, submit(client, video_short)["id"])
    assert plain["links"]["video"] is None and client.get(f"/jobs/{plain['id']}/video").status_code == 404
    assert client.delete(f"/jobs/{job['id']}").status_code == 204
    assert client.get(job["links"]["video"]).status_code == 404


def test_results_are_purged_after_their_ttl(jobs_client, video_short, tmp_path):
    client = jobs_client(result_ttl_days=1e-6)  # 0.09 s
    job = wait_for(client, submit(client, video_short, keep_upload="true")["id"])
    time.sleep(0.2)
    done = client.app.state.jobs.housekeeping()
    assert done["purged"] == [job["id"]]
    assert client.get(f"/jobs/{job['id']}").status_code == 404
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_upload_limits_and_missing_field(jobs_client, tmp_path):
    client = jobs_client(job_workers=0)
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (3 * 1024 * 1024))  # limit is 2 MiB
    with open(big, "rb") as f:
        r = client.post("/jobs", files={"file": ("big.mp4", f)})
    assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
    r = client.post("/jobs", data={"callback_url": "http://127.0.0.1/"})
    assert r.status_code == 422 and "'file'" in r.json()["detail"]
    assert client.get("/jobs").json()["items"] == []
    assert list((tmp_path / "data" / "uploads").iterdir()) == []
