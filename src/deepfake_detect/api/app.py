"""`create_app()`: the FastAPI application (docs at /docs)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from .. import __version__, web
from ..config import Settings, get_settings
from ..evidence import EvidenceService
from ..jobs import JobsRuntime
from ..metrics import Metrics
from ..pipeline import Detector
from .admission import UploadGuard
from .auth import AUTH_RESPONSES, RateLimiter, authenticate, check_upload_key
from .errors import install_error_handlers
from .metrics import RequestMetrics
from .openapi import complete_openapi
from .routes import evidence, health, info, jobs, ops, predict
from .service import InferenceService
from .uploads import BodySizeLimit, prepare_upload_dir

DESCRIPTION = """Deepfake video detection: every face in the video is found (MTCNN), tracked across
sampled frames and scored by a CNN + BiLSTM; the answer carries the evidence per face and per frame.
Errors are RFC 9457 problem+json.

**For people: the web page at [/ui](/ui)** — drop a video, watch it being analysed, see the verdict,
the evidence per face (timeline, crops, where the model looked), the history and a printable report."""


def create_app(
    settings: Settings | None = None, detector_factory: Callable[[Settings], Detector] | None = None
) -> FastAPI:
    settings = settings or get_settings()
    service = InferenceService(settings, detector_factory)
    metrics = Metrics()
    service.report_hooks.append(metrics.observe_report)
    job_runtime = JobsRuntime(settings, lambda: service.detector, metrics)
    metrics.watch_jobs(job_runtime.store.counts_by_state)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        prepare_upload_dir(settings.upload_dir)
        job_runtime.migrate()  # before the model: a database problem fails start-up in a second
        service.load()
        job_runtime.start()
        yield
        job_runtime.stop()
        service.shutdown()

    # /docs loads Swagger UI from the installed package: FastAPI's default page fetches it from a CDN,
    # blank on an air-gapped network and a request to a third party from every reader. No /redoc: ReDoc
    # still fetches its logo from its own CDN.
    app = FastAPIOffline(
        title="Deepfake Detection API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.service = service
    app.state.jobs = job_runtime
    app.state.metrics = metrics
    app.state.evidence = EvidenceService()
    app.state.limiter = RateLimiter(settings.rate_limit_storage, settings.rate_limit)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    per_file = settings.max_upload_bytes
    # Every route that takes a video: its body-size limit (BodySizeLimit, a 413 before anything is
    # read) and the places it waits in (UploadGuard: 503 for the surplus, 408 for a stalled upload).
    uploads = {
        "/predict": (per_file, service.slot),
        "/predict/batch": (per_file * settings.max_batch_files, service.slot),
        "/jobs": (per_file, service.job_uploads.slot),  # stores, answers 202; analyses queue in the DB
    }
    app.add_middleware(
        UploadGuard,
        gates={path: gate for path, (_, gate) in uploads.items()},
        stall_s=settings.upload_stall_s,
        timeout_s=settings.upload_timeout_s,
        precheck=check_upload_key,
    )
    app.add_middleware(BodySizeLimit, limits={path: limit for path, (limit, _) in uploads.items()})
    app.add_middleware(RequestMetrics, metrics=metrics)  # outermost: counts 413s and 503s of the two above
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(ops.probes)
    for router in (predict.router, info.router, jobs.router, evidence.router, ops.metrics_router):
        app.include_router(router, dependencies=[Depends(authenticate)], responses=AUTH_RESPONSES)
    web.mount(app)  # the page for people (/ui), on the routes above
    complete_openapi(app, settings.max_batch_files)
    return app
