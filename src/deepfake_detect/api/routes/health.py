"""`GET /` and `GET /health`: the seed's fields (status, model_loaded, device) and why, if unhealthy."""

from __future__ import annotations

import time

from fastapi import APIRouter
from pydantic import BaseModel

from ... import __version__
from ..deps import ServiceDep

router = APIRouter(tags=["health"])


class RootResponse(BaseModel):
    status: str
    model_loaded: bool
    device: str


class HealthResponse(RootResponse):
    reason: str | None
    model_id: str | None
    model_sha256: str | None
    model_summary: str | None
    version: str
    uptime_s: float
    model_load_s: float | None
    load: dict


@router.get("/", response_model=RootResponse, summary="Liveness")
async def root(service: ServiceDep) -> RootResponse:
    return RootResponse(status="online", model_loaded=service.detector is not None, device="cpu")


@router.get("/health", response_model=HealthResponse, summary="Detailed health")
async def health(service: ServiceDep) -> HealthResponse:
    """`status` is "healthy" when predictions can be served, else "unhealthy" with a `reason`."""
    detector = service.detector
    loaded = detector.loaded if detector else None
    return HealthResponse(
        status="healthy" if detector else "unhealthy",
        model_loaded=detector is not None,
        device="cpu",
        reason=service.unavailable_reason,
        model_id=loaded.model_id if loaded else None,
        model_sha256=loaded.sha256 if loaded else None,
        model_summary=loaded.config.extra.get("summary") if loaded else None,
        version=__version__,
        uptime_s=round(time.time() - service.started_at, 1),
        model_load_s=service.load_seconds,
        load=service.load_state,
    )
