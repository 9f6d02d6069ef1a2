"""Webhooks: when a job ends, POST it to its callback_url, signed, retried with exponential backoff.

Headers of every delivery (docs/jobs.md shows how to verify them):
    X-Deepfake-Event       job.succeeded | job.failed | job.cancelled
    X-Deepfake-Delivery    <job id>.<event>: the same on every retry, so a receiver can drop repeats
    X-Deepfake-Attempt     1, 2, ...
    X-Deepfake-Timestamp   Unix seconds when this attempt was signed
    X-Deepfake-Signature   v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

Deliveries are claimed from the database like jobs (a lease, so a crash mid-delivery is retried by
whoever is alive): at least once. Only hosts in WEBHOOK_ALLOWED_HOSTS are called, redirects are not
followed, and any 2xx answer counts as delivered.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import __version__
from ..errors import InvalidRequest
from .schema import Job, WebhookAttempt, utcnow
from .store import TERMINAL_WEBHOOK_EVENTS, JobStore
from .views import view

log = logging.getLogger("deepfake_detect.jobs")
SIGNATURE_VERSION = "v1"


def check_callback_url(url: str, allowed_hosts: list[str]) -> str:
    """The URL if its host is allowed (exact name, or a *.domain pattern); else InvalidRequest (422)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"callback_url must be an absolute http(s) URL, got {url[:200]!r}")
    if parts.username or parts.password:
        raise InvalidRequest("callback_url must not carry credentials")
    host = parts.hostname.lower()
    if not any(fnmatch.fnmatchcase(host, pattern) for pattern in allowed_hosts):
        allowed = ", ".join(allowed_hosts) if allowed_hosts else "none (WEBHOOK_ALLOWED_HOSTS is empty)"
        raise InvalidRequest(f"callback host {host!r} is not allowed; allowed hosts: {allowed}")
    return url


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify(secret: str, headers, body: bytes, tolerance_s: float = 300, now: float | None = None) -> bool:
    """What a receiver does: recompute the signature and refuse stale timestamps (replays)."""
    try:
        timestamp = int(headers["X-Deepfake-Timestamp"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), headers.get("X-Deepfake-Signature", ""))


def backoff_s(attempt: int, base_s: float) -> float:
    """Wait after failed attempt n (1-based): base, 2 base, 4 base, ... capped at an hour."""
    return min(base_s * 2 ** (attempt - 1), 3600.0)


class WebhookDispatcher:
    def __init__(
        self,
        store: JobStore,
        secret_for: Callable[[str], str | None],
        allowed_hosts: list[str],
        timeout_s: float,
        max_attempts: int,
        retry_base_s: float,
        on_attempt: Callable[[str], None] | None = None,
    ):
        self.store = store
        self.secret_for = secret_for
        self.allowed_hosts = allowed_hosts
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.on_attempt = on_attempt or (lambda outcome: None)
        self.client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def close(self) -> None:
        self.client.close()

    def _claim(self) -> Job | None:
        now = utcnow()
        due = or_(
            and_(Job.webhook_state == "pending", Job.webhook_next_at <= now),
            and_(Job.webhook_state == "delivering", Job.webhook_lease_until < now),
        )
        pick = select(Job.id).where(due).order_by(Job.webhook_next_at).limit(1)
        if self.store.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        lease = now + timedelta(seconds=self.timeout_s * 3 + 10)
        statement = (
            update(Job)
            .where(Job.id == pick.scalar_subquery())
            .values(webhook_state="delivering", webhook_lease_until=lease)
            .returning(Job.id)
        )
        with self.store.session.begin() as s:
            job_id = s.scalar(statement)
        return self.store.get(job_id) if job_id else None

    def deliver_due(self) -> int:
        """Deliver every callback that is due now; returns how many attempts were made."""
        made = 0
        while (job := self._claim()) is not None:
            self._attempt(job)
            made += 1
        return made

    def _attempt(self, job: Job) -> None:
        assert job.callback_url is not None  # only jobs with a callback get a webhook state to claim
        event = TERMINAL_WEBHOOK_EVENTS.get(job.state, f"job.{job.state}")
        attempt = WebhookAttempt(
            job_id=job.id, attempt=len(job.webhook_attempts) + 1, url=job.callback_url, event=event
        )
        body = json.dumps(
            {"event": event, "job": view(job).model_dump(mode="json", exclude={"webhook"})},
            separators=(",", ":"),
        ).encode()
        give_up, t0 = False, time.perf_counter()
        try:
            check_callback_url(job.callback_url, self.allowed_hosts)
            secret = self.secret_for(job.owner)
            if not secret:
                raise InvalidRequest("no webhook secret: set WEBHOOK_SECRET or use an API key")
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"deepfake-detect/{__version__}",
                "X-Deepfake-Event": event,
                "X-Deepfake-Delivery": f"{job.id}.{event}",
                "X-Deepfake-Attempt": str(attempt.attempt),
                "X-Deepfake-Timestamp": str(timestamp),
                "X-Deepfake-Signature": sign(secret, timestamp, body),
            }
            response = self.client.post(job.callback_url, content=body, headers=headers)
            attempt.status_code = response.status_code
            if not 200 <= response.status_code < 300:
                attempt.error = f"receiver answered HTTP {response.status_code}"
        except InvalidRequest as e:
            attempt.error, give_up = e.detail, True  # configuration: retrying will not help
        except httpx.HTTPError as e:
            attempt.error = f"{type(e).__name__}: {e}"[:500]
        attempt.delivered = attempt.error is None
        attempt.duration_ms = round((time.perf_counter() - t0) * 1000, 1)
        self._record(attempt, give_up)

    def _record(self, attempt: WebhookAttempt, give_up: bool) -> None:
        attempt.at = now = utcnow()
        if attempt.delivered:
            state, next_at = "delivered", None
        elif give_up or attempt.attempt >= self.max_attempts:
            state, next_at = "failed", None
        else:
            state, next_at = "pending", now + timedelta(seconds=backoff_s(attempt.attempt, self.retry_base_s))
        job_id = attempt.job_id
        try:
            with self.store.session.begin() as s:
                s.add(attempt)
                s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.webhook_state == "delivering")
                    .values(webhook_state=state, webhook_next_at=next_at, webhook_lease_until=None)
                )
        except IntegrityError:
            return  # the job was deleted meanwhile: nothing to record it on
        outcome = "delivered" if attempt.delivered else ("gave_up" if state == "failed" else "failed")
        self.on_attempt(outcome)
        log.info(
            "webhook %s for job %s attempt %d: %s",
            attempt.event,
            job_id,
            attempt.attempt,
            attempt.error or "delivered",
        )
