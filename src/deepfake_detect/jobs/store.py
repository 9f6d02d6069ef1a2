"""JobStore: every read and write of the jobs table, as short transactions (the repository the API,
the workers and anything else that schedules analyses go through). The worker's side, claims and
lease-fenced writes, is in leases.py.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from .leases import LeaseWrites
from .schema import ACTIVE, Job, WebhookAttempt, utcnow

TERMINAL_WEBHOOK_EVENTS = {"succeeded": "job.succeeded", "failed": "job.failed", "cancelled": "job.cancelled"}


JOB_ID_PATTERN = "^[0-9a-f]{28}$"  # what new_job_id makes; a history cursor is one of these


def new_job_id() -> str:
    """28 hex characters: milliseconds since the epoch, then 64 random bits (sorts by creation)."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class JobFilter:
    states: tuple[str, ...] = ()
    prediction: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    upload_sha256: str | None = None  # lower-case hex


class JobStore(LeaseWrites):
    """Submission, reading, cancel/delete/purge here; claims and the worker's fenced writes in leases.py."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.session = sessionmaker(engine, expire_on_commit=False)
        self._skip_locked = engine.dialect.name == "postgresql"

    # --- submission and reading ---

    def create(
        self,
        job_id: str,
        owner: str,
        video_name: str,
        upload_bytes: int,
        upload_sha256: str | None = None,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        keep_upload: bool = False,
    ) -> tuple[Job, bool]:
        """Insert a queued job; with an idempotency key already used by this owner, return that job
        instead (created=False). A concurrent duplicate loses on the unique constraint and reads back."""
        now = utcnow()
        job = Job(
            id=job_id,
            owner=owner,
            state="queued",
            video_name=video_name,
            upload_bytes=upload_bytes,
            upload_sha256=upload_sha256,
            keep_upload=keep_upload,
            idempotency_key=idempotency_key,
            callback_url=callback_url,
            created_at=now,
            updated_at=now,
            attempts=0,
            webhook_state="waiting" if callback_url else "none",
        )
        try:
            with self.session.begin() as s:
                s.add(job)
            stored = self.get(job_id)  # read back whole (relationships loaded), as every other reader sees it
            assert stored is not None
            return stored, True
        except IntegrityError:
            if idempotency_key is None:
                raise
            existing = self.find_idempotent(owner, idempotency_key)
            if existing is None:
                raise
            return existing, False

    def find_idempotent(self, owner: str, key: str) -> Job | None:
        with self.session() as s:
            return s.scalar(select(Job).where(Job.owner == owner, Job.idempotency_key == key))

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, if it exists and (with `owner`) belongs to that owner."""
        with self.session() as s:
            query = select(Job).where(Job.id == job_id)
            if owner is not None:
                query = query.where(Job.owner == owner)
            return s.scalar(query)

    def list_jobs(
        self, owner: str | None, where: JobFilter, cursor: str | None, limit: int
    ) -> tuple[list[Job], str | None]:
        """Newest first; `cursor` is the last id of the previous page. Returns (jobs, next cursor)."""
        query = select(Job).order_by(Job.id.desc()).limit(limit + 1)
        if owner is not None:
            query = query.where(Job.owner == owner)
        if where.states:
            query = query.where(Job.state.in_(where.states))
        if where.prediction:
            query = query.where(Job.prediction == where.prediction)
        if where.created_after:
            query = query.where(Job.created_at >= where.created_after)
        if where.created_before:
            query = query.where(Job.created_at < where.created_before)
        if where.upload_sha256:
            query = query.where(Job.upload_sha256 == where.upload_sha256)
        if cursor:
            query = query.where(Job.id < cursor)
        with self.session() as s:
            jobs = list(s.scalars(query))
        more = len(jobs) > limit
        jobs = jobs[:limit]
        return jobs, (jobs[-1].id if more else None)

    def counts_by_state(self) -> dict[str, int]:
        with self.session() as s:
            return dict(s.execute(select(Job.state, func.count()).group_by(Job.state)).all())

    def ping(self) -> None:
        with self.session() as s:
            s.execute(select(1))

    # --- the client's side: cancel, delete, purge ---

    def cancel(self, job_id: str, owner: str | None) -> bool:
        """Cancel a queued or running job; False if it is not active (or not this owner's)."""
        now = utcnow()
        statement = update(Job).where(Job.id == job_id, Job.state.in_(ACTIVE))
        if owner is not None:
            statement = statement.where(Job.owner == owner)
        return self._write(statement.values(state="cancelled", keep_upload=False, **self._finish_values(now)))

    def delete(self, job_id: str, owner: str | None) -> bool:
        statement = delete(Job).where(Job.id == job_id, Job.state.not_in(ACTIVE))
        if owner is not None:
            statement = statement.where(Job.owner == owner)
        with self.session.begin() as s:
            s.execute(delete(WebhookAttempt).where(WebhookAttempt.job_id == job_id))
            return s.execute(statement).rowcount == 1

    def purge_finished_before(self, cutoff: datetime) -> list[str]:
        """Delete jobs that ended before `cutoff` (RESULT_TTL_DAYS); returns their ids."""
        with self.session.begin() as s:
            ids = list(s.scalars(select(Job.id).where(Job.state.not_in(ACTIVE), Job.finished_at < cutoff)))
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                s.execute(delete(WebhookAttempt).where(WebhookAttempt.job_id.in_(chunk)))
                s.execute(delete(Job).where(Job.id.in_(chunk)))
        return ids

    def upload_needed(self, job_ids: list[str]) -> set[str]:
        """Which of these jobs still need their upload (active, or kept for the client)."""
        if not job_ids:
            return set()
        needed = or_(Job.state.in_(ACTIVE), Job.keep_upload.is_(True))
        with self.session() as s:
            return set(s.scalars(select(Job.id).where(Job.id.in_(job_ids), needed)))
