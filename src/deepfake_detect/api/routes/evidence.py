"""Evidence of a finished job, from its kept upload (submit with `keep_upload=true`): face crops,
Grad-CAM explanations on demand, and the downloadable report. The web page (/ui) is built on these.

curl -s localhost:8000/jobs/<id>/faces/0/crop -o face0.png               # the face card's thumbnail
curl -s "localhost:8000/jobs/<id>/faces/0/crop?frame=41" -o f41.png     # that frame's crop
curl -s localhost:8000/jobs/<id>/faces/0/explain                        # heatmaps, top 3 frames
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from ...errors import EvidenceConflict, EvidenceNotFound, JobNotFound
from ...evidence import AnalysedVideo
from ...evidence.images import png
from ...evidence.views import AnalysisSettings, Explanation, JobReport
from ...jobs import JobsRuntime
from ...jobs.schema import Job
from ...jobs.views import view
from ...pipeline import Detector
from ...report import VideoReport
from ..auth import Caller
from ..deps import CallerDep, EvidenceDep, JobsDep, ServiceDep
from ..errors import documented_problem

router = APIRouter(prefix="/jobs", tags=["evidence"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: documented_problem("No such job, face or frame, or the video was not kept"),
    409: documented_problem("The job has no result (not finished, failed) or another model made it"),
    422: documented_problem("A parameter is not valid, or the kept video can no longer be decoded"),
    503: documented_problem("No model loaded, or all workers busy (see Retry-After)", retry_after=True),
}
TrackId = Annotated[int, PathParam(ge=0, le=1_000_000, description="The face's track_id in the result")]
FrameIndex = Annotated[
    int | None, Query(ge=0, le=10_000_000, description="A frame index from the face's observations")
]


def succeeded(jobs: JobsRuntime, caller: Caller, job_id: str) -> tuple[Job, VideoReport]:
    job = jobs.store.get(job_id, caller.owner)
    if job is None:
        raise JobNotFound(f"no job {job_id[:64]!r}")
    if job.state != "succeeded" or not job.result:
        raise EvidenceConflict(f"job {job.id} has no result (state {job.state})")
    return job, VideoReport.model_validate(job.result)


def analysed_video(jobs: JobsRuntime, caller: Caller, job_id: str) -> AnalysedVideo:
    """A succeeded job of this caller's, with its kept upload."""
    job, report = succeeded(jobs, caller, job_id)
    path = jobs.uploads.path(job.id)
    if not job.keep_upload or not path.is_file():
        raise EvidenceNotFound(
            f"job {job.id} did not keep its video (submit with keep_upload=true to see its faces)"
        )
    return AnalysedVideo(job.id, report, path)


def same_model(detector: Detector, report: VideoReport) -> None:
    if report.model_id != detector.model_id:
        raise EvidenceConflict(
            f"the job was analysed by {report.model_id}; this server serves {detector.model_id}"
        )


@router.get(
    "/{job_id}/faces/{track_id}/crop",
    summary="A face crop, as the model saw it",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "PNG"}, **RESPONSES},
)
def face_crop(
    job_id: str,
    track_id: TrackId,
    jobs: JobsDep,
    caller: CallerDep,
    service: ServiceDep,
    evidence: EvidenceDep,
    frame: FrameIndex = None,
) -> Response:
    """The model's input crop of face `track_id` in `frame` (default: its clearest frame, the face card's
    thumbnail), cut again from the kept video by the pipeline's crop code."""
    video = analysed_video(jobs, caller, job_id)
    crop = evidence.crop(video, service.require_detector(), track_id, frame)
    return Response(png(crop), media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get(
    "/{job_id}/faces/{track_id}/explain",
    response_model=Explanation,
    summary="Where the model looked (Grad-CAM), on demand",
    responses=RESPONSES,
)
async def explain(
    job_id: str,
    track_id: TrackId,
    jobs: JobsDep,
    caller: CallerDep,
    service: ServiceDep,
    evidence: EvidenceDep,
    top: Annotated[int, Query(ge=1, le=8, description="How many of the most suspicious frames")] = 3,
    frame: FrameIndex = None,
) -> Explanation:
    """Grad-CAM heatmaps over face `track_id`'s crops in its `top` most suspicious frames (or in `frame`):
    the gradient of that frame's P(fake) logit on the CNN's last feature map. Computed when asked (a
    fraction of a second per frame) and cached; runs on the inference workers, so a busy server
    answers 503 with Retry-After."""
    video = await run_in_threadpool(analysed_video, jobs, caller, job_id)
    same_model(service.require_detector(), video.report)
    return await service.run(lambda d: evidence.explain(video, d, track_id, top, frame))


@router.get(
    "/{job_id}/report",
    response_model=JobReport,
    summary="The downloadable report (JSON)",
    responses={404: RESPONSES[404], 409: RESPONSES[409]},
)
def job_report(
    job_id: str, jobs: JobsDep, caller: CallerDep, service: ServiceDep, response: Response
) -> JobReport:
    """The job with its full result, the model's card (when this server still serves that model) and the
    analysis settings, as an attachment named after the video."""
    job, report = succeeded(jobs, caller, job_id)
    detector = service.detector
    settings = service.settings
    response.headers["Content-Disposition"] = f'attachment; filename="{report_name(job)}.json"'
    return JobReport(
        generated_at=datetime.now(UTC),
        job=view(job),
        model=detector.describe() if detector and detector.model_id == report.model_id else None,
        settings=AnalysisSettings(
            frames_per_video=settings.frames_per_video,
            detect_max_side=settings.detect_max_side,
            min_face_size=settings.min_face_size,
            face_confidence=settings.face_confidence,
            runtime=settings.runtime,
            prediction_threshold=settings.prediction_threshold,
        ),
    )


def report_name(job: Job) -> str:
    """A safe file name for a job's report: the video's stem (ASCII word characters) and the id."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(job.video_name).stem)[:60] or "video"
    return f"{stem}-{job.id[:12]}-report"
