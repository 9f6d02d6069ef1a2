"""The worker's side of the JobStore: atomic claims, expiring leases, and writes fenced by the claim.

A claim is one `UPDATE ... WHERE id = (SELECT ... LIMIT 1 [FOR UPDATE SKIP LOCKED]) RETURNING`: on
PostgreSQL concurrent claimers skip each other's locked rows; on SQLite the single writer applies the
statement whole. Every write a worker makes afterwards names the claim's `lease_token`, so a worker
whose lease expired (paused, partitioned, presumed dead) can no longer record anything: a result is
written at most once, and with expiring leases at least once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, case, func, or_, select, update
from sqlalchemy.orm import sessionmaker

from .schema import Job, utcnow


@dataclass(frozen=True)
class Claim:
    """A job a worker holds: its writes must carry `token`."""

    job_id: str
    token: str
    video_name: str
    attempts: int


class LeaseWrites:
    engine: Engine
    session: sessionmaker
    _skip_locked: bool  # PostgreSQL: claimers pass over each other's locked rows

    def claim(self, worker: str, lease_s: float, max_attempts: int) -> Claim | None:
        """Take the oldest queued job, or a running one whose lease expired, if any."""
        now = utcnow()
        claimable = or_(
            Job.state == "queued",
            and_(Job.state == "running", Job.lease_expires_at < now, Job.attempts < max_attempts),
        )
        pick = select(Job.id).where(claimable).order_by(Job.id).limit(1)
        if self._skip_locked:
            pick = pick.with_for_update(skip_locked=True)
        token = secrets.token_hex(16)
        statement = (
            update(Job)
            .where(Job.id == pick.scalar_subquery())
            .values(
                state="running",
                worker=worker,
                lease_token=token,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=Job.attempts + 1,
                started_at=func.coalesce(Job.started_at, now),
                updated_at=now,
            )
            .returning(Job.id, Job.video_name, Job.attempts)
        )
        with self.session.begin() as s:
            row = s.execute(statement).first()
        return Claim(row.id, token, row.video_name, row.attempts) if row else None

    def fail_abandoned(self, max_attempts: int) -> list[tuple[str, bool]]:
        """Fail running jobs whose lease expired after `max_attempts` claims (a video that kills its
        worker every time). Returns (id, keep_upload) of each, for the caller to clean up."""
        now = utcnow()
        problem = {
            "type": "urn:deepfake-detect:problem:worker-lost",
            "title": "Worker lost",
            "status": 500,
            "detail": f"the worker analysing this video stopped {max_attempts} times; giving up",
        }
        statement = (
            update(Job)
            .where(Job.state == "running", Job.lease_expires_at < now, Job.attempts >= max_attempts)
            .values(state="failed", error=problem, **self._finish_values(now))
            .returning(Job.id, Job.keep_upload)
        )
        with self.session.begin() as s:
            return [tuple(r) for r in s.execute(statement)]

    def _fenced(self, job_id: str, token: str):
        return update(Job).where(Job.id == job_id, Job.lease_token == token, Job.state == "running")

    def _write(self, statement) -> bool:
        with self.session.begin() as s:
            return s.execute(statement).rowcount == 1

    def renew(self, job_id: str, token: str, lease_s: float) -> bool:
        now = utcnow()
        values = dict(lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now)
        return self._write(self._fenced(job_id, token).values(**values))

    def progress(self, job_id: str, token: str, stage: str, done: int, total: int, lease_s: float) -> bool:
        """Record progress (and renew the lease); False when the job is no longer this claim's."""
        now = utcnow()
        values = dict(
            progress_stage=stage,
            progress_done=done,
            progress_total=total,
            lease_expires_at=now + timedelta(seconds=lease_s),
            updated_at=now,
        )
        return self._write(self._fenced(job_id, token).values(**values))

    @staticmethod
    def _finish_values(now: datetime) -> dict:
        # A callback is due at once when the job has one (the case expression keeps it one statement).
        has_callback = Job.callback_url.is_not(None)
        return dict(
            finished_at=now,
            updated_at=now,
            lease_token=None,
            lease_expires_at=None,
            webhook_state=case((has_callback, "pending"), else_="none"),
            webhook_next_at=case((has_callback, now), else_=None),
        )

    def succeed(self, job_id: str, token: str, report: dict) -> bool:
        now = utcnow()
        values = dict(
            state="succeeded",
            result=report,
            prediction=report["prediction"],
            fake_probability=report.get("fake_probability"),
            model_id=report.get("model_id"),
            **self._finish_values(now),
        )
        return self._write(self._fenced(job_id, token).values(**values))

    def fail(self, job_id: str, token: str, problem: dict) -> bool:
        now = utcnow()
        return self._write(
            self._fenced(job_id, token).values(state="failed", error=problem, **self._finish_values(now))
        )

    def release(self, job_id: str, token: str) -> bool:
        """Hand a claimed job back to the queue (graceful shutdown): this claim does not count."""
        values = dict(
            state="queued",
            lease_token=None,
            lease_expires_at=None,
            worker=None,
            attempts=Job.attempts - 1,
            updated_at=utcnow(),
        )
        return self._write(self._fenced(job_id, token).values(**values))
