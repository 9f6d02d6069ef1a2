"""`create_app()`: the FastAPI application (docs at /docs)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .. import __version__
from ..config import Settings, get_settings
from ..pipeline import Detector
from .errors import install_error_handlers
from .routes import health, info, predict
from .service import InferenceService
from .uploads import BodySizeLimit

DESCRIPTION = """Deepfake video detection: every face in the video is found (MTCNN), tracked across
sampled frames and scored by a CNN + BiLSTM; the answer carries the evidence per face and per frame.
Errors are RFC 9457 problem+json."""


def create_app(
    settings: Settings | None = None, detector_factory: Callable[[Settings], Detector] | None = None
) -> FastAPI:
    settings = settings or get_settings()
    service = InferenceService(settings, detector_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.load()
        yield
        service.shutdown()

    app = FastAPI(
        title="Deepfake Detection API", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.service = service
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    per_file = settings.max_upload_bytes
    app.add_middleware(
        BodySizeLimit, limits={"/predict": per_file, "/predict/batch": per_file * settings.max_batch_files}
    )
    install_error_handlers(app)
    for module in (health, predict, info):
        app.include_router(module.router)
    return app
