"""`POST /predict` (field `file`) and `POST /predict/batch` (field `files`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from pydantic import BaseModel

from ...errors import DetectorError, InvalidUpload, TooManyFiles
from ...report import VideoReport
from ..deps import ServiceDep, SettingsDep
from ..errors import documented_problem, problem_body
from ..uploads import display_name, saved_upload

router = APIRouter(tags=["predict"])

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: documented_problem("Malformed multipart body, or more files than MAX_BATCH_FILES in one batch"),
    408: documented_problem("The upload stalled or took longer than UPLOAD_STALL_S / UPLOAD_TIMEOUT_S"),
    413: documented_problem(
        "Upload or video exceeds a limit (size, resolution, duration, frames, streams, decode time)"
    ),
    415: documented_problem(
        "Not a video container this service accepts (text, image, audio only, playlist...)"
    ),
    422: documented_problem("Looks like a video but cannot be decoded, or a missing/duplicated field"),
    503: documented_problem("No model loaded, or all workers busy (see Retry-After)", retry_after=True),
}


@router.post("/predict", response_model=VideoReport, responses=ERROR_RESPONSES, summary="Analyse one video")
async def predict(
    request: Request, service: ServiceDep, settings: SettingsDep, file: UploadFile = File(...)
) -> VideoReport:
    """Upload one video as multipart field `file` (`curl -F file=@video.mp4 .../predict`).

    `prediction` is REAL, FAKE or NO_FACE. `fake_probability` is the calibrated P(fake) of the most
    fake-looking face; `confidence` is the probability of the returned prediction (so a confident
    REAL has a high confidence and a low fake_probability). `faces` holds the evidence per person
    and per sampled frame.
    """
    service.require_detector()
    if len((await request.form()).getlist("file")) > 1:  # which one was meant? say so, do not guess
        raise InvalidUpload("send exactly one video in field 'file' (use /predict/batch for several)")
    # The request holds its worker slot from its first byte (api/admission.py).
    async with saved_upload(file, settings.max_upload_bytes, settings.upload_dir) as path:
        return await service.analyze(path, display_name(file.filename))


class BatchItem(BaseModel):
    """The seed's flat batch fields, plus the full `report` on success or a `problem` on failure."""

    video_name: str
    prediction: str | None = None
    confidence: float | None = None
    is_fake: bool | None = None
    frames_analyzed: int | None = None
    fake_probability: float | None = None
    error: str | None = None
    status: int = 200
    problem: dict | None = None
    report: VideoReport | None = None

    @classmethod
    def success(cls, report: VideoReport) -> BatchItem:
        seed_fields = ("prediction", "confidence", "is_fake", "frames_analyzed", "fake_probability")
        return cls(
            video_name=report.video_name, report=report, **{k: getattr(report, k) for k in seed_fields}
        )


class BatchResponse(BaseModel):
    predictions: list[BatchItem]


@router.post(
    "/predict/batch",
    response_model=BatchResponse,
    responses=ERROR_RESPONSES,
    summary="Analyse several videos",
)
async def predict_batch(
    service: ServiceDep, settings: SettingsDep, files: list[UploadFile] = File(...)
) -> BatchResponse:
    """Upload several videos as repeated multipart field `files`. Each gets a `result` or an `error`;
    one bad file does not spoil the others."""
    service.require_detector()
    if len(files) > settings.max_batch_files:
        raise TooManyFiles(f"{len(files)} files sent; at most {settings.max_batch_files} per batch")
    items: list[BatchItem] = []
    for upload in files:  # one worker slot for the whole batch (api/admission.py)
        name = display_name(upload.filename)
        try:
            async with saved_upload(upload, settings.max_upload_bytes, settings.upload_dir) as path:
                items.append(BatchItem.success(await service.analyze(path, name)))
        except DetectorError as e:
            items.append(BatchItem(video_name=name, error=e.detail, status=e.status, problem=problem_body(e)))
    return BatchResponse(predictions=items)
