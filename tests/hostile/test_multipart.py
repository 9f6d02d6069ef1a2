"""Malformed multipart requests and odd filenames: a 4xx problem+json that says what was wrong."""

from __future__ import annotations

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
def client(tiny_detector, upload_dir: Path):
    with TestClient(
        create_app(Settings(frames_per_video=4, upload_dir=upload_dir), lambda s: tiny_detector)
    ) as c:
        yield c


@pytest.fixture(autouse=True)
def _nothing_left(upload_dir: Path, client):
    yield
    assert list(upload_dir.iterdir()) == []
    assert client.get("/health").json()["status"] == "healthy"


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


def test_no_file_part(client):
    body = assert_problem(post_raw(client, raw_multipart([(b"note", None, b"hello")])), 422)
    assert "missing form field(s): file" in body["detail"]


def test_empty_file_part(client):
    body = assert_problem(client.post("/predict", files={"file": ("a.mp4", b"")}), 422)
    assert "empty" in body["detail"]


def test_two_file_fields(client, video_short):
    data = video_short.read_bytes()
    response = post_raw(client, raw_multipart([(b"file", b"a.mp4", data), (b"file", b"b.mp4", data)]))
    assert "exactly one" in assert_problem(response, 422)["detail"]


def test_wrong_field_name(client, video_short):
    response = client.post("/predict", files={"video": ("a.mp4", video_short.read_bytes())})
    assert "'file'" in assert_problem(response, 422)["detail"]


def test_file_sent_as_a_text_field(client):
    body = assert_problem(post_raw(client, raw_multipart([(b"file", None, TEXT)])), 422)
    assert "Expected UploadFile" in body["detail"]


def test_not_multipart_at_all(client):
    assert_problem(client.post("/predict", json={"file": "video.mp4"}), 422)
    assert_problem(client.post("/predict", content=b"\x00" * 100, headers={"content-type": "video/mp4"}), 422)


def test_broken_multipart_is_400(client):
    body = b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data; name=file\r\nno end of headers"
    assert_problem(post_raw(client, body), 400)
    cr_in_header = raw_multipart([(b"file", b"a\rb.mp4", TEXT)])  # a CR ends a header line early
    assert "multipart" in assert_problem(post_raw(client, cr_in_header), 400)["detail"]


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
