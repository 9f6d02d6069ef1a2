"""`GET /` and `GET /health`: the seed's fields (status, model_loaded, device) and why, if unhealthy.

A person who types the server's address into a browser is sent on to the web page (`/ui`) instead of
reading JSON; API clients (curl, httpx, requests and `fetch` all send `Accept: */*`) get JSON as before.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from ... import __version__
from ..deps import ServiceDep

router = APIRouter(tags=["health"])


class RootResponse(BaseModel):
    status: str
    model_loaded: bool
    device: str


class LoadState(BaseModel):
    workers: int
    busy: int
    queued: int
    max_queue: int
    job_uploads: int = Field(description="POST /jobs uploads being received now")
    max_job_uploads: int


class HealthResponse(RootResponse):
    reason: str | None
    model_id: str | None
    model_sha256: str | None
    model_summary: str | None
    version: str
    uptime_s: float
    model_load_s: float | None
    load: LoadState


@router.get(
    "/",
    response_model=RootResponse,
    summary="Liveness",
    responses={303: {"description": "A browser (`Accept: text/html`) is sent to the web page, `/ui`"}},
)
async def root(request: Request, response: Response, service: ServiceDep) -> RootResponse | Response:
    vary = {"Vary": "Accept"}  # one URL, two representations: caches must keep them apart
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(f"{request.scope.get('root_path', '')}/ui", status_code=303, headers=vary)
    response.headers.update(vary)
    return RootResponse(status="online", model_loaded=service.detector is not None, device="cpu")


@router.get("/health", response_model=HealthResponse, summary="Detailed health")
async def health(service: ServiceDep) -> HealthResponse:
    """`status` is "healthy" when predictions can be served, else "unhealthy" with a `reason`."""
    detector = service.detector
    model = detector.describe() if detector else None
    return HealthResponse(
        status="healthy" if detector else "unhealthy",
        model_loaded=detector is not None,
        device="cpu",
        reason=service.unavailable_reason,
        model_id=model.id if model else None,
        model_sha256=model.sha256 if model else None,
        model_summary=model.summary if model else None,
        version=__version__,
        uptime_s=round(time.time() - service.started_at, 1),
        model_load_s=service.load_seconds,
        load=LoadState(**service.load_state),
    )
