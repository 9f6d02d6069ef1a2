"""Malformed multipart requests and odd filenames: a 4xx problem+json that says what was wrong."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hostile_corpus import assert_problem

from deepfake_detect import Settings
from deepfake_detect.api.app import create_app

BOUNDARY = "hostileboundary0123456789"
TEXT = b"this is plain text, not a video\n" * 10


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def client(tiny_detector, upload_dir: Path, data_dir: Path):
    settings = Settings(frames_per_video=4, upload_dir=upload_dir, data_dir=data_dir, job_poll_s=0.05)
    with TestClient(create_app(settings, lambda s: tiny_detector)) as c:
        yield c


@pytest.fixture(autouse=True)
def _nothing_left(upload_dir: Path, data_dir: Path, client):
    yield
    assert list(upload_dir.iterdir()) == []
    for job in client.get("/jobs", params={"limit": 500}).json()["items"]:
        wait_for_end(client, job["id"])
    assert list((data_dir / "uploads").iterdir()) == []
    assert client.get("/health").json()["status"] == "healthy"


def wait_for_end(client, job_id: str) -> dict:
    deadline = time.monotonic() + 120  # a bound against hangs, not a speed check
    while (job := client.get(f"/jobs/{job_id}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


UPLOAD_ROUTES = pytest.mark.parametrize("route", ["/predict", "/jobs"])


def raw_multipart(parts: list[tuple[bytes, bytes | None, bytes]]) -> bytes:
    """(field name, filename or None, content) per part; names are raw bytes (any encoding)."""
    out = b""
    for field, filename, content in parts:
        out += b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="' + field + b'"'
        out += (b'; filename="' + filename + b'"' if filename is not None else b"") + b"\r\n\r\n"
        out += content + b"\r\n"
    return out + b"--" + BOUNDARY.encode() + b"--\r\n"


def post_raw(client, body: bytes, path: str = "/predict"):
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    return client.post(path, content=body, headers=headers)


@UPLOAD_ROUTES
def test_no_file_part(client, route):
    body = assert_problem(post_raw(client, raw_multipart([(b"note", None, b"hello")]), route), 422)
    assert "missing form field(s): file" in body["detail"]


def test_empty_file_part(client):
    body = assert_problem(client.post("/predict", files={"file": ("a.mp4", b"")}), 422)
    assert "empty" in body["detail"]


def test_empty_file_part_as_a_job(client):
    """A job takes any bytes (202) and fails as /predict answers."""
    accepted = client.post("/jobs", files={"file": ("a.mp4", b"")})
    assert accepted.status_code == 202, accepted.text
    job = wait_for_end(client, accepted.json()["id"])
    assert job["state"] == "failed" and job["error"]["status"] == 422 and "empty" in job["error"]["detail"]


@UPLOAD_ROUTES
def test_two_file_fields(client, video_short, route):
    data = video_short.read_bytes()
    parts = [(b"file", b"a.mp4", data), (b"file", b"b.mp4", data)]
    assert "exactly one" in assert_problem(post_raw(client, raw_multipart(parts), route), 422)["detail"]


@UPLOAD_ROUTES
def test_wrong_field_name(client, video_short, route):
    response = client.post(route, files={"video": ("a.mp4", video_short.read_bytes())})
    assert "'file'" in assert_problem(response, 422)["detail"]


@UPLOAD_ROUTES
def test_file_sent_as_a_text_field(client, route):
    body = assert_problem(post_raw(client, raw_multipart([(b"file", None, TEXT)]), route), 422)
    assert "form field(s) file hold text, not a file (send the video as multipart/form-data" in body["detail"]


@UPLOAD_ROUTES
def test_not_multipart_at_all(client, route):
    body = assert_problem(client.post(route, json={"file": "video.mp4"}), 422)
    assert body["detail"].startswith("the body is application/json, not multipart; missing form field(s)")
    assert_problem(client.post(route, content=b"\x00" * 100, headers={"content-type": "video/mp4"}), 422)


def test_raw_video_body_says_what_to_send(client, video_short):
    """`curl --data-binary @video.mp4`, a common first try: the answer names the fix."""
    headers = {"content-type": "video/mp4"}
    response = client.post("/predict", content=video_short.read_bytes(), headers=headers)
    assert assert_problem(response, 422)["detail"] == (
        "the body is video/mp4, not multipart; missing form field(s): file "
        "(send the video as multipart/form-data field 'file', e.g. curl -F file=@video.mp4)"
    )


def test_batch_hint_names_its_own_field(client, video_short):
    response = client.post("/predict/batch", files={"file": ("a.mp4", video_short.read_bytes())})
    detail = assert_problem(response, 422)["detail"]
    assert "missing form field(s): files" in detail and "curl -F files=@a.mp4 -F files=@b.mp4" in detail


@UPLOAD_ROUTES
def test_broken_multipart_is_400(client, route):
    body = b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data; name=file\r\nno end of headers"
    assert_problem(post_raw(client, body, route), 400)
    cr_in_header = raw_multipart([(b"file", b"a\rb.mp4", TEXT)])  # a CR ends a header line early
    assert "multipart" in assert_problem(post_raw(client, cr_in_header, route), 400)["detail"]


def test_batch_without_files(client):
    assert_problem(post_raw(client, raw_multipart([(b"note", None, b"x")]), "/predict/batch"), 422)


ODD_NAMES = {
    "path traversal": b"../../../../etc/passwd.mp4",
    "1,000 characters": b"a" * 996 + b".mp4",
    "control characters": b"evil\x1b[31m\x07\x08\x7fname\t.mp4",
    "non-UTF-8": b"\xff\xfe\xc3\x28video.mp4",
    "NUL byte": b"clip\x00.mp4",
}


@pytest.mark.parametrize("raw_name", ODD_NAMES.values(), ids=ODD_NAMES.keys())
def test_odd_filenames(client, video_short, raw_name):
    """A non-video with an odd name: 415, the name not echoed into the reason. A real video with an
    odd name: judged, under a sanitised label (basename, no control characters, at most 255 chars)."""
    body = assert_problem(post_raw(client, raw_multipart([(b"file", raw_name, TEXT)])), 415)
    assert "passwd" not in body["detail"] and "\x1b" not in body["detail"]
    response = post_raw(client, raw_multipart([(b"file", raw_name, video_short.read_bytes())]))
    assert response.status_code == 200, response.text
    label = response.json()["video_name"]
    assert "/" not in label and ".." not in label and len(label) <= 255
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in label)


@pytest.mark.parametrize("raw_name", ODD_NAMES.values(), ids=ODD_NAMES.keys())
def test_odd_filenames_as_jobs(client, video_short, raw_name):
    """Through /jobs: accepted under the same sanitised label; a non-video fails with 415 whose reason
    does not echo the name; a real video succeeds."""
    labels = []
    for content, state in ((TEXT, "failed"), (video_short.read_bytes(), "succeeded")):
        accepted = post_raw(client, raw_multipart([(b"file", raw_name, content)]), "/jobs")
        assert accepted.status_code == 202, accepted.text
        job = wait_for_end(client, accepted.json()["id"])
        assert job["state"] == state, job
        if state == "failed":
            assert job["error"]["status"] == 415, job
            assert "passwd" not in job["error"]["detail"] and "\x1b" not in job["error"]["detail"]
        labels.append(job["video_name"])
    assert job["result"]["video_name"] == labels[1] == labels[0]
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in labels[0])
    assert "/" not in labels[0] and ".." not in labels[0] and len(labels[0]) <= 255
