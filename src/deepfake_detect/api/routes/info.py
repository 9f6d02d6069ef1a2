"""`GET /info`: the model, its calibration and preprocessing, and the effective configuration."""

from __future__ import annotations

import torch
from fastapi import APIRouter
from pydantic import BaseModel, Field

from ... import __version__
from ...containers import ALLOWED_DEMUXERS
from ...jobs.views import AuthInfo, JobsInfo
from ...media import TESTED_FORMATS
from ...report import ModelInfo
from ..deps import JobsDep, ServiceDep

router = APIRouter(tags=["info"])


class Formats(BaseModel):
    detected_by: str
    accepted: list[str] = Field(description="FFmpeg demuxers of the containers that are opened")
    tested: list[str]


class InfoResponse(BaseModel):
    api_version: str
    model: ModelInfo | None = Field(description="None while no model is loaded (see the reason)")
    model_unavailable_reason: str | None
    pipeline: list[str] = Field(description="The stages a video goes through, with this configuration")
    formats: Formats
    device: str
    torch_threads: int
    settings: dict = Field(description="The effective settings (environment, .env, defaults)")
    auth: AuthInfo
    jobs: JobsInfo


@router.get("/info", response_model=InfoResponse, summary="Model and configuration")
def info(service: ServiceDep, jobs: JobsDep) -> InfoResponse:
    settings = service.settings
    detector = service.detector
    return InfoResponse(
        api_version=__version__,
        model=detector.describe() if detector is not None else None,
        model_unavailable_reason=service.unavailable_reason,
        pipeline=[
            f"sample {settings.frames_per_video} evenly spaced frames in one decode pass",
            f"MTCNN face detection at {settings.detect_max_side} px, every face kept and tracked",
            "square face crops from the full-resolution frame (a face patch, then the model's crop)",
            "CNN per crop + BiLSTM per face track -> calibrated P(fake) per face and per frame",
            "video P(fake) = max over face tracks seen in >= 1/4 as many frames as the longest; "
            "no face -> NO_FACE, never judged from the full frame",
        ],
        formats=Formats(
            detected_by="content (FFmpeg probing), not by file extension",
            accepted=sorted(ALLOWED_DEMUXERS),
            tested=list(TESTED_FORMATS),
        ),
        device="cpu",
        torch_threads=torch.get_num_threads(),
        settings=settings.model_dump(mode="json"),
        auth=jobs.auth_info(),
        jobs=jobs.info(),
    )
