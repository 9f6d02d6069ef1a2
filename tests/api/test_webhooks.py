"""Webhooks to a receiver on loopback: signature, retries with backoff, every attempt on the job,
timeouts, and the host allow-list."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jobs_helpers import submit, wait_for

from deepfake_detect.jobs import sign, verify
from deepfake_detect.jobs.webhooks import backoff_s, check_callback_url

SECRET = "whsec_test"


class Receiver:
    """An HTTP server on 127.0.0.1 answering each POST with the next scripted reply: a status code,
    or ("sleep", seconds) to outlast the sender's timeout."""

    def __init__(self, replies=(200,)):
        self.replies = list(replies)
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                reply = receiver.replies.pop(0) if len(receiver.replies) > 1 else receiver.replies[0]
                if isinstance(reply, tuple):
                    time.sleep(reply[1])
                    reply = 200
                self.send_response(reply)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(*replies):
        made.append(Receiver(replies or (200,)))
        return made[-1]

    yield make
    for r in made:
        r.close()


def wait_webhook(client, job_id, states=("delivered", "failed"), within_s=60):
    deadline = time.monotonic() + within_s
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["webhook"]["state"] in states:
            return job
        assert time.monotonic() < deadline, job["webhook"]
        time.sleep(0.05)


def test_signed_callback_after_retries_with_every_attempt_on_the_job(jobs_client, receiver, video_short):
    hook = receiver(500, 503, 200)
    client = jobs_client(webhook_allowed_hosts=["127.0.0.1"], webhook_secret=SECRET)
    job_id = submit(client, video_short, callback_url=hook.url)["id"]
    job = wait_webhook(client, job_id)
    attempts = job["webhook"]["attempts"]
    assert job["webhook"]["state"] == "delivered" and job["state"] == "succeeded"
    assert [(a["attempt"], a["status_code"], a["delivered"]) for a in attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert attempts[0]["error"] == "receiver answered HTTP 500" and attempts[2]["error"] is None
    # exponential backoff: the second wait is at least twice the base, the first at least the base
    at = [datetime.fromisoformat(a["at"]).timestamp() for a in attempts]
    assert at[1] - at[0] >= backoff_s(1, 0.05) and at[2] - at[1] >= backoff_s(2, 0.05) == 0.1
    assert len(hook.requests) == 3
    headers, body = hook.requests[-1]
    assert verify(SECRET, headers, body)
    assert headers["X-Deepfake-Signature"] == sign(SECRET, int(headers["X-Deepfake-Timestamp"]), body)
    assert headers["X-Deepfake-Event"] == "job.succeeded" and headers["X-Deepfake-Attempt"] == "3"
    assert headers["X-Deepfake-Delivery"] == f"{job_id}.job.succeeded"
    assert {h["X-Deepfake-Delivery"] for h, _ in hook.requests} == {f"{job_id}.job.succeeded"}
    payload = json.loads(body)
    assert payload["event"] == "job.succeeded" and payload["job"]["id"] == job_id
    assert payload["job"]["result"]["prediction"] == job["result"]["prediction"]
    assert not verify("wrong-secret", headers, body)
    assert not verify(SECRET, headers, body + b" ")
    assert not verify(SECRET, headers, body, now=int(headers["X-Deepfake-Timestamp"]) + 600)  # replayed later


def test_failed_job_is_called_back_too(jobs_client, receiver, text_as_mp4):
    hook = receiver(204)
    client = jobs_client(webhook_allowed_hosts=["127.0.0.1"], webhook_secret=SECRET)
    job = wait_webhook(client, submit(client, text_as_mp4, callback_url=hook.url)["id"])
    assert job["state"] == "failed" and job["webhook"]["state"] == "delivered"
    payload = json.loads(hook.requests[0][1])
    assert payload["event"] == "job.failed" and payload["job"]["error"]["status"] == 415


def test_timeouts_are_retried_then_given_up(jobs_client, receiver, video_short):
    hook = receiver(("sleep", 1.5))
    client = jobs_client(
        webhook_allowed_hosts=["127.0.0.1"],
        webhook_secret=SECRET,
        webhook_timeout_s=0.3,
        webhook_max_attempts=2,
    )
    job = wait_webhook(client, submit(client, video_short, callback_url=hook.url)["id"])
    assert job["webhook"]["state"] == "failed"
    attempts = job["webhook"]["attempts"]
    assert len(attempts) == 2 and not any(a["delivered"] for a in attempts)
    assert all(a["status_code"] is None and "Timeout" in a["error"] for a in attempts)


@pytest.mark.parametrize(
    "url, allowed, fragment",
    [
        ("http://169.254.169.254/latest/meta-data", [], "WEBHOOK_ALLOWED_HOSTS is empty"),
        ("http://localhost:9/x", ["127.0.0.1"], "'localhost' is not allowed"),
        ("http://10.0.0.1/x", ["*.example.com"], "not allowed"),
        ("http://evil.example.com.attacker.net/x", ["*.example.com"], "not allowed"),
        ("file:///etc/passwd", ["*"], "absolute http(s) URL"),
        ("http://user:pw@hooks.example.com/x", ["*.example.com"], "credentials"),
    ],
)
def test_callback_hosts_must_be_allowed(url, allowed, fragment):
    with pytest.raises(Exception) as e:
        check_callback_url(url, allowed)
    assert e.value.status == 422 and fragment in e.value.detail


def test_allow_list_patterns():
    assert check_callback_url("https://hooks.example.com/x", ["*.example.com"])
    assert check_callback_url("http://127.0.0.1:8080/x", ["127.0.0.1"])


def test_submission_with_a_refused_callback_stores_nothing(jobs_client, video_short, tmp_path):
    client = jobs_client(webhook_secret=SECRET)  # no host allowed: the default
    with open(video_short, "rb") as f:
        r = client.post("/jobs", files={"file": f}, data={"callback_url": "http://127.0.0.1:1/hook"})
    assert r.status_code == 422 and "WEBHOOK_ALLOWED_HOSTS" in r.json()["detail"]
    no_secret = jobs_client(webhook_allowed_hosts=["127.0.0.1"])
    with open(video_short, "rb") as f:
        r = no_secret.post("/jobs", files={"file": f}, data={"callback_url": "http://127.0.0.1:1/hook"})
    assert r.status_code == 422 and "WEBHOOK_SECRET" in r.json()["detail"]
    assert client.get("/jobs").json()["items"] == []
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_no_webhook_without_callback(jobs_client, video_short):
    client = jobs_client()
    job = wait_for(client, submit(client, video_short)["id"])
    assert job["webhook"] is None


def test_a_cancelled_job_is_called_back_too(jobs_client, receiver, video_short):
    hook = receiver(200)
    client = jobs_client(job_workers=0, webhook_allowed_hosts=["127.0.0.1"], webhook_secret=SECRET)
    job = submit(client, video_short, callback_url=hook.url)
    assert job["webhook"]["state"] == "waiting" and job["webhook"]["attempts"] == []
    assert client.delete(f"/jobs/{job['id']}").json()["state"] == "cancelled"
    assert wait_webhook(client, job["id"])["webhook"]["state"] == "delivered"
    assert hook.requests[0][0]["X-Deepfake-Event"] == "job.cancelled"
