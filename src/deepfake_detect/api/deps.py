"""Dependencies shared by the routes, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..config import Settings
from ..jobs import JobsRuntime
from .auth import Caller, CallerDep
from .service import InferenceService


def get_service(request: Request) -> InferenceService:
    return request.app.state.service


def get_app_settings(request: Request) -> Settings:
    return request.app.state.service.settings


def get_jobs(request: Request) -> JobsRuntime:
    return request.app.state.jobs


ServiceDep = Annotated[InferenceService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
JobsDep = Annotated[JobsRuntime, Depends(get_jobs)]

__all__ = ["Caller", "CallerDep", "JobsDep", "ServiceDep", "SettingsDep"]
