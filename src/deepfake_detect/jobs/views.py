"""What clients see of a job: the JSON of `GET /jobs/{id}`, of the list, and of webhook payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..report import VideoReport
from .schema import Job

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobProgress(BaseModel):
    stage: Literal["queued", "decode", "detect", "crop", "classify", "done"] = Field(
        description="Stage of the analysis; decode and detect count frames, crop and classify face tracks"
    )
    done: int
    total: int


class WebhookAttemptView(BaseModel):
    attempt: int
    at: datetime
    event: str
    status_code: int | None = Field(description="HTTP status the receiver answered; null: no answer")
    error: str | None
    duration_ms: float
    delivered: bool


class WebhookView(BaseModel):
    url: str
    state: Literal["waiting", "pending", "delivering", "delivered", "failed"] = Field(
        description="waiting for the job to end; pending: due at next_attempt_at; delivered; failed (gave up)"
    )
    next_attempt_at: datetime | None
    attempts: list[WebhookAttemptView]


class JobLinks(BaseModel):
    self: str
    video: str | None = Field(None, description="The uploaded video, while the job keeps it (keep_upload)")


class JobSummary(BaseModel):
    """A job in the history list: state and verdict, without the full report."""

    id: str
    state: JobState
    video_name: str
    upload_bytes: int
    upload_sha256: str | None = Field(
        None, description="SHA-256 of the uploaded bytes (null for jobs stored before 2026-12-07)"
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    attempts: int = Field(description="Times a worker claimed the job (more than 1 after a worker was lost)")
    progress: JobProgress
    prediction: Literal["REAL", "FAKE", "NO_FACE"] | None
    fake_probability: float | None
    model_id: str | None
    links: JobLinks


class JobView(JobSummary):
    """One job in full: the same report `/predict` returns when it succeeded, a problem+json body when
    it failed, and every webhook attempt."""

    result: VideoReport | None
    error: dict | None = Field(description="RFC 9457 problem details, as /predict would have answered")
    keep_upload: bool
    webhook: WebhookView | None


class AuthInfo(BaseModel):
    mode: Literal["open", "api_keys"] = Field(
        description="open: no API key is configured and every request is served, as the seed's API was"
    )
    default_rate_limit: str = Field(description="Per key, unless the key has its own")


class JobsInfo(BaseModel):
    database: str = Field(description="The jobs database URL, password hidden")
    schema_revision: str | None
    workers_in_process: int
    webhook_allowed_hosts: list[str]


class JobPage(BaseModel):
    items: list[JobSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page; null: no more")


def _progress(job: Job) -> JobProgress:
    if job.state == "succeeded":
        total = job.progress_total or 0
        return JobProgress(stage="done", done=total, total=total)
    if job.progress_stage is None or job.state == "queued":
        return JobProgress(stage="queued", done=0, total=0)
    return JobProgress(stage=job.progress_stage, done=job.progress_done or 0, total=job.progress_total or 0)


def _links(job: Job) -> JobLinks:
    return JobLinks(self=f"/jobs/{job.id}", video=f"/jobs/{job.id}/video" if job.keep_upload else None)


def summary(job: Job) -> JobSummary:
    return JobSummary(
        id=job.id,
        state=job.state,
        video_name=job.video_name,
        upload_bytes=job.upload_bytes,
        upload_sha256=job.upload_sha256,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        updated_at=job.updated_at,
        attempts=job.attempts,
        progress=_progress(job),
        prediction=job.prediction,
        fake_probability=job.fake_probability,
        model_id=job.model_id,
        links=_links(job),
    )


def view(job: Job) -> JobView:
    webhook = None
    if job.callback_url:
        webhook = WebhookView(
            url=job.callback_url,
            state=job.webhook_state,
            next_attempt_at=job.webhook_next_at if job.webhook_state == "pending" else None,
            attempts=[
                WebhookAttemptView.model_validate(a, from_attributes=True) for a in job.webhook_attempts
            ],
        )
    return JobView(
        **summary(job).model_dump(),
        result=VideoReport.model_validate(job.result) if job.result else None,
        error=job.error,
        keep_upload=job.keep_upload,
        webhook=webhook,
    )
