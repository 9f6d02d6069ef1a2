"""For orchestrators and monitoring: `/livez`, `/readyz` (no key needed) and `/metrics` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from ...errors import NotReady
from ..deps import JobsDep, ServiceDep
from ..errors import documented_problem

probes = APIRouter(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    model_loaded: bool
    database: str


@probes.get("/livez", response_model=Liveness, summary="Liveness probe")
def livez() -> Liveness:
    """200 while the process serves HTTP; restart it when this fails."""
    return Liveness(status="alive")


@probes.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness probe",
    responses={503: documented_problem("Model not loaded or database unreachable")},
)
def readyz(service: ServiceDep, jobs: JobsDep) -> Readiness:
    """200 when the model is loaded and the jobs database answers; else 503 with the reason, so a load
    balancer sends traffic elsewhere."""
    if service.detector is None:
        raise NotReady(f"model not loaded: {service.unavailable_reason}")
    try:
        jobs.store.ping()
    except Exception as e:
        raise NotReady(f"jobs database unreachable: {type(e).__name__}") from e
    return Readiness(status="ready", model_loaded=True, database=jobs.engine.dialect.name)


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request, service: ServiceDep) -> Response:
    """Requests and latencies by route and status, time per analysis stage, jobs by state, queue depth,
    webhook attempts, and the model id (`deepfake_model_info`)."""
    registry = request.app.state.metrics
    registry.set_model(service.detector.model_id if service.detector else None)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
