"""API keys: open without keys (and /info says so), 401 without a valid key, each key sees only its own
jobs, per-key rate limits answer 429 with Retry-After, keys from a file or from the database."""

from __future__ import annotations

import asyncio
import json

import pytest
from jobs_helpers import submit, wait_for

from deepfake_detect.jobs.keys import hash_key, load_key_file

PROBLEM = "application/problem+json"
ALICE, BOB = "dfd_alice-secret-key", "dfd_bob-secret-key"


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "keys.toml"
    path.write_text(
        f"""
[[keys]]
name = "alice"
key = "{ALICE}"
webhook_secret = "whsec_alice"

[[keys]]
name = "bob"
sha256 = "{hash_key(BOB)}"
rate_limit = "4/minute"
"""
    )
    return path


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_without_keys_the_service_is_open_and_says_so(jobs_client, video_short):
    client = jobs_client(job_workers=0)
    assert client.get("/info").json()["auth"]["mode"] == "open"
    submit(client, video_short)
    assert len(client.get("/jobs").json()["items"]) == 1


def test_keys_are_required_except_on_probes_and_docs(jobs_client, key_file):
    client = jobs_client(api_keys_file=key_file, job_workers=0)
    docs_files = ("/static-offline-docs/swagger-ui-bundle.js", "/static-offline-docs/swagger-ui.css")
    for path in ("/", "/health", "/livez", "/readyz", "/docs", *docs_files, "/openapi.json"):
        assert client.get(path).status_code == 200, path
    for method, path in (("GET", "/info"), ("GET", "/jobs"), ("POST", "/predict"), ("GET", "/metrics")):
        r = client.request(method, path)
        assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM), (path, r.text)
        assert r.headers["www-authenticate"] == "Bearer" and "Authorization: Bearer" in r.json()["detail"]
    wrong = client.get("/jobs", headers=bearer("dfd_guess"))
    assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    assert client.get("/jobs", headers={"Authorization": f"Basic {ALICE}"}).status_code == 401
    info = client.get("/info", headers=bearer(ALICE)).json()
    assert info["auth"]["mode"] == "api_keys"
    assert info["settings"]["api_keys_file"] == str(key_file)


def test_a_key_sees_only_its_own_jobs(jobs_client, key_file, video_short):
    client = jobs_client(api_keys_file=key_file)
    mine = submit(client, video_short, headers=bearer(ALICE))
    wait_for(client, mine["id"], headers=bearer(ALICE))
    assert client.get(f"/jobs/{mine['id']}", headers=bearer(BOB)).status_code == 404
    assert client.delete(f"/jobs/{mine['id']}", headers=bearer(BOB)).status_code == 404
    assert client.get("/jobs", headers=bearer(BOB)).json()["items"] == []
    assert [j["id"] for j in client.get("/jobs", headers=bearer(ALICE)).json()["items"]] == [mine["id"]]
    # the same Idempotency-Key from two keys makes two jobs
    a = submit(client, video_short, headers=bearer(ALICE) | {"Idempotency-Key": "k"})
    b = submit(client, video_short, headers=bearer(BOB) | {"Idempotency-Key": "k"})
    assert a["id"] != b["id"]


def test_rate_limit_answers_429_with_retry_after(jobs_client, key_file):
    client = jobs_client(api_keys_file=key_file, job_workers=0, rate_limit="100/minute")
    assert [client.get("/jobs", headers=bearer(BOB)).status_code for _ in range(4)] == [200] * 4
    limited = client.get("/jobs", headers=bearer(BOB))
    assert limited.status_code == 429 and limited.headers["content-type"].startswith(PROBLEM)
    assert 1 <= int(limited.headers["retry-after"]) <= 60 and "4 per 1 minute" in limited.json()["detail"]
    assert client.get("/jobs", headers=bearer(ALICE)).status_code == 200  # alice has her own window


def test_keys_created_in_the_database(jobs_client):
    client = jobs_client(job_workers=0)
    keys = client.app.state.jobs.keys
    token, secret = keys.create("newsroom", rate_limit="10/second")
    assert token.startswith("dfd_") and secret.startswith("whsec_")
    assert client.get("/jobs").status_code == 401  # a key exists now: the service is closed
    assert client.get("/jobs", headers=bearer(token)).status_code == 200
    assert keys.webhook_secret("newsroom") == secret
    with pytest.raises(Exception, match="already exists"):
        keys.create("newsroom")
    assert keys.revoke("newsroom")
    assert client.get("/jobs").status_code == 200  # the last key revoked: open again
    stored = [row for row in keys.listing() if row["name"] == "newsroom"][0]
    assert stored["revoked_at"] and token not in str(keys.listing())


def test_key_file_needs_a_name_and_a_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[keys]]\nname = "x"\n')
    with pytest.raises(ValueError, match="needs a name and a key"):
        load_key_file(bad)


@pytest.mark.parametrize("name", ["", " alice", "bob\nINFO forged line", "x" * 65])
def test_a_key_name_is_a_clean_label(jobs_client, tmp_path, name):
    """ "" owns the jobs made while the service was open, so no key may be named that; nor may a name
    forge log lines or hide behind spaces, from the CLI or from the file."""
    keys = jobs_client(job_workers=0).app.state.jobs.keys
    with pytest.raises(Exception, match="a key name must be 1-64 printable characters"):
        keys.create(name)
    path = tmp_path / "keys.toml"
    path.write_text(f"[[keys]]\nname = {json.dumps(name)}\nkey = {json.dumps(ALICE)}\n")
    with pytest.raises(ValueError, match="keys\\[0\\]"):
        load_key_file(path)


def test_an_upload_without_a_valid_key_is_refused_before_its_body_is_read(jobs_client, key_file):
    """401 from UploadGuard, before the request takes a place or a byte of its body is read: clients
    without a key cannot hold the upload places of those with one."""
    app = jobs_client(api_keys_file=key_file, job_workers=0).app

    async def receive():
        raise AssertionError("the body was read")

    def call(path: str, authorization: bytes | None) -> list[dict]:
        headers = [(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"100000")]
        headers += [(b"authorization", authorization)] if authorization else []
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("test", 80),
        }  # fmt: skip
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        asyncio.run(app(scope, receive, send))
        return sent

    for path in ("/predict", "/predict/batch", "/jobs"):
        for authorization in (None, b"Bearer dfd_guess", b"Basic " + ALICE.encode()):
            start, body = call(path, authorization)[:2]
            assert start["status"] == 401 and (b"www-authenticate", b"Bearer") in start["headers"]
            assert json.loads(body["body"])["status"] == 401
    load = app.state.service.load_state
    assert load["busy"] == load["queued"] == load["job_uploads"] == 0
