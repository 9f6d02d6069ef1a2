"""Dependencies shared by the routes, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..config import Settings
from ..evidence import EvidenceService
from ..jobs import JobsRuntime
from .auth import Caller, CallerDep
from .service import InferenceService


def get_service(request: Request) -> InferenceService:
    return request.app.state.service


def get_app_settings(request: Request) -> Settings:
    return request.app.state.service.settings


def get_jobs(request: Request) -> JobsRuntime:
    return request.app.state.jobs


def get_evidence(request: Request) -> EvidenceService:
    return request.app.state.evidence


ServiceDep = Annotated[InferenceService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
JobsDep = Annotated[JobsRuntime, Depends(get_jobs)]
EvidenceDep = Annotated[EvidenceService, Depends(get_evidence)]

__all__ = ["Caller", "CallerDep", "EvidenceDep", "JobsDep", "ServiceDep", "SettingsDep"]
