"""Apps with the jobs API on a test database (SQLite or PostgreSQL, see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deepfake_detect.api.app import create_app

JobsClientFactory = Callable[..., TestClient]


@pytest.fixture
def jobs_client(jobs_db_url: str, tmp_path: Path, tiny_detector, app_settings_factory) -> JobsClientFactory:
    """`jobs_client(**settings)` starts an app (tiny model, 4 frames, fast polling) and returns its
    TestClient; every app started is stopped after the test. `detector=` replaces the model."""
    stack = ExitStack()

    def start(detector=None, **overrides) -> TestClient:
        values = dict(
            frames_per_video=4,
            max_upload_mb=2,
            database_url=jobs_db_url,
            webhook_retry_base_s=0.05,
            webhook_timeout_s=2,
        )
        chosen = detector or tiny_detector
        settings = app_settings_factory(tmp_path / "data", **(values | overrides))
        app = create_app(settings, detector_factory=lambda s: chosen)
        return stack.enter_context(TestClient(app))

    with stack:
        yield start
