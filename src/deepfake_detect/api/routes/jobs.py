"""The jobs API: `POST /jobs` answers 202 at once; poll `GET /jobs/{id}` or be called back.

curl -si -F file=@clip.mp4 http://localhost:8000/jobs            # 202, Location: /jobs/<id>
curl -s http://localhost:8000/jobs/<id>                         # state, progress, result
"""

from __future__ import annotations

import mimetypes
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from ...errors import IdempotencyKeyReused, InvalidRequest, InvalidUpload, JobNotFound
from ...jobs.schema import ACTIVE, Job
from ...jobs.store import JOB_ID_PATTERN, JobFilter, new_job_id
from ...jobs.views import JobPage, JobState, JobView, summary, view
from ...jobs.webhooks import check_callback_url
from ..deps import CallerDep, EvidenceDep, JobsDep, ServiceDep, SettingsDep
from ..errors import documented_problem
from ..uploads import display_name

router = APIRouter(prefix="/jobs", tags=["jobs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: documented_problem("No such job for this caller (deleted, purged, or another key's)")
}


@router.post(
    "",
    status_code=202,
    response_model=JobView,
    summary="Submit a video",
    responses={
        202: {"description": "Accepted (or, with a known Idempotency-Key, the job it made before)"},
        400: documented_problem("Malformed multipart body"),
        408: documented_problem("The upload stalled or took longer than UPLOAD_STALL_S / UPLOAD_TIMEOUT_S"),
        413: documented_problem("Upload over MAX_UPLOAD_MB"),
        422: documented_problem(
            "Missing or duplicated file, bad callback_url or host not allowed, or an Idempotency-Key "
            "already used for another file, callback_url or keep_upload"
        ),
        503: documented_problem(
            "No model loaded in this server's workers, or MAX_JOB_UPLOADS uploads being received "
            "(see Retry-After)",
            retry_after=True,
        ),
    },
)
async def submit(
    request: Request,
    response: Response,
    jobs: JobsDep,
    service: ServiceDep,
    settings: SettingsDep,
    caller: CallerDep,
    file: UploadFile = File(..., description="The video"),
    callback_url: str | None = Form(None, description="POSTed the job when it ends (signed)"),
    keep_upload: bool = Form(False, description="Keep the video for GET /jobs/{id}/video until deleted"),
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JobView:
    """Store the upload in the data directory, queue a job, answer **202** with `Location: /jobs/{id}`.

    The video is analysed exactly as `/predict` does; bad media make a `failed` job whose `error` is
    the problem `/predict` would have answered. The same `Idempotency-Key` (per API key) with the same
    request returns the same job instead of a second one; with another file, `callback_url` or
    `keep_upload` it is refused (422), never answered with another video's job. The upload is stored
    under the job's id, with no extension (the container is identified by content only, as for
    `/predict`)."""
    if len((await request.form()).getlist("file")) > 1:  # which one was meant? say so, do not guess
        raise InvalidUpload("send exactly one video in field 'file' (one job per video)")
    if idempotency_key:
        existing = await run_in_threadpool(jobs.store.find_idempotent, caller.owner, idempotency_key)
        if existing is not None:
            _check_replay(existing, await jobs.uploads.sha256(file), callback_url, keep_upload)
            return _accepted(response, view(existing), replayed=True)
    if callback_url:
        check_callback_url(callback_url, settings.webhook_allowed_hosts)
        owner_secret = jobs.keys.webhook_secret(caller.owner) if jobs.keys and caller.owner else None
        if not (owner_secret or settings.webhook_secret):
            raise InvalidRequest("callback_url needs a signing secret: set WEBHOOK_SECRET or use an API key")
    if settings.job_workers > 0:
        service.require_detector()  # this server's workers could never run it
    job_id = new_job_id()
    size, sha256 = await jobs.uploads.save(file, job_id, settings.max_upload_bytes)
    try:
        job, created = await run_in_threadpool(
            jobs.store.create,
            job_id,
            caller.owner,
            display_name(file.filename),
            size,
            sha256,
            idempotency_key,
            callback_url,
            keep_upload,
        )
    except BaseException:
        jobs.uploads.delete(job_id)
        raise
    if not created:  # lost a race on the same Idempotency-Key
        jobs.uploads.delete(job_id)
        _check_replay(job, sha256, callback_url, keep_upload)
    jobs.wake.set()
    return _accepted(response, view(job), replayed=not created)


def _check_replay(job: Job, sha256: str, callback_url: str | None, keep_upload: bool) -> None:
    """A reused Idempotency-Key is a retry only when the request is the same: 422 otherwise. The file
    is compared by SHA-256 (its name is not: a retry may name it differently); jobs stored before
    revision 0002 have no hash to compare."""
    changed = [
        name
        for name, differs in (
            ("file", job.upload_sha256 is not None and job.upload_sha256 != sha256),
            ("callback_url", (job.callback_url or None) != (callback_url or None)),
            ("keep_upload", job.keep_upload != keep_upload),
        )
        if differs
    ]
    if changed:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {job.idempotency_key!r} was used for job {job.id} ({job.video_name!r}) with "
            f"another {', '.join(changed)}: a retry must send the same request; use a new key for a new one"
        )


def _accepted(response: Response, job: JobView, replayed: bool) -> JobView:
    response.headers["Location"] = job.links.self
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return job


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get(
    "",
    response_model=JobPage,
    summary="List jobs (history)",
    responses={422: documented_problem("A filter or the cursor is not valid")},
)
def list_jobs(
    jobs: JobsDep,
    caller: CallerDep,
    state: Annotated[list[JobState] | None, Query(description="Repeat to match several states")] = None,
    prediction: Literal["REAL", "FAKE", "NO_FACE"] | None = None,
    created_after: Annotated[datetime | None, Query(description="ISO 8601; no zone means UTC")] = None,
    created_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=64, description="next_cursor of the previous page")
    ] = None,
    sha256: Annotated[
        str | None,
        Query(
            pattern="^[0-9a-fA-F]{64}$",
            description="Only jobs of the file with this SHA-256 (`sha256sum clip.mp4`): analysed before?",
        ),
    ] = None,
) -> JobPage:
    """This caller's jobs, newest first, `limit` at a time; follow `next_cursor` for older ones."""
    # A cursor is a job id, compared as text: a mangled one would silently end the history early.
    if cursor is not None and not re.fullmatch(JOB_ID_PATTERN, cursor):
        raise InvalidRequest(f"cursor {cursor[:64]!r} is not a next_cursor of this service (28 hex digits)")
    where = JobFilter(
        tuple(state or ()),
        prediction,
        _utc(created_after),
        _utc(created_before),
        sha256.lower() if sha256 else None,
    )
    items, next_cursor = jobs.store.list_jobs(caller.owner, where, cursor, limit)
    return JobPage(items=[summary(j) for j in items], next_cursor=next_cursor)


@router.get(
    "/{job_id}", response_model=JobView, summary="A job: state, progress, result", responses=NOT_FOUND
)
def get_job(job_id: str, jobs: JobsDep, caller: CallerDep) -> JobView:
    job = jobs.store.get(job_id, caller.owner)
    if job is None:
        raise JobNotFound(f"no job {job_id[:64]!r}")
    return view(job)


@router.delete(
    "/{job_id}",
    response_model=JobView,
    summary="Cancel a job, or delete a finished one",
    responses={
        200: {"description": "Was queued or running: now cancelled"},
        204: {"description": "Deleted"},
        **NOT_FOUND,
    },
)
def delete_job(job_id: str, jobs: JobsDep, caller: CallerDep, evidence: EvidenceDep) -> JobView | Response:
    """A queued or running job is cancelled (200, state `cancelled`) and its upload deleted; a running
    analysis stops at its next stage. A finished job is deleted with all its data (204)."""
    job = jobs.store.get(job_id, caller.owner)
    if job is None:
        raise JobNotFound(f"no job {job_id[:64]!r}")
    if job.state in ACTIVE and jobs.store.cancel(job_id, caller.owner):
        jobs.uploads.delete(job_id)
        return view(jobs.store.get(job_id) or job)
    jobs.store.delete(job_id, caller.owner)
    jobs.uploads.delete(job_id)
    evidence.forget(job_id)  # its face crops and heatmaps leave memory with it
    return Response(status_code=204)


@router.get(
    "/{job_id}/video",
    summary="The uploaded video, while the job keeps it",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The video: `video/*` by its file name, else application/octet-stream",
            "content": {"video/*": {}, "application/octet-stream": {}},
        },
        **NOT_FOUND,
    },
)
def job_video(job_id: str, jobs: JobsDep, caller: CallerDep) -> FileResponse:
    """The upload as sent (Range requests work, so a page can seek in it): while the job is queued or
    running, and afterwards when it was submitted with `keep_upload=true`."""
    job = jobs.store.get(job_id, caller.owner)
    path = jobs.uploads.path(job_id) if job is not None and job_id.isalnum() else None
    if job is None or path is None or not path.is_file():
        raise JobNotFound(f"no stored video for job {job_id[:64]!r}")
    # Only a video type is ever named: the bytes are the client's, the name too ("page.html" must not
    # come back as text/html from this origin); nosniff keeps browsers from guessing otherwise.
    guessed = mimetypes.guess_type(job.video_name)[0] or ""
    media_type = guessed if guessed.startswith("video/") else "application/octet-stream"
    return FileResponse(
        path,
        media_type=media_type,
        filename=job.video_name,
        content_disposition_type="inline",
        headers={"X-Content-Type-Options": "nosniff"},
    )
