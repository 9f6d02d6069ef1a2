"""The web page's tests: apps on a SQLite jobs database with the tiny model (TestClient), and a real
server + Debian's Chromium for the browser tests (test_browser.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deepfake_detect.api.app import create_app

WebClientFactory = Callable[..., TestClient]


@pytest.fixture
def web_client(tmp_path: Path, tiny_detector, app_settings_factory) -> WebClientFactory:
    """`web_client(**settings)`: a TestClient on an app with the tiny model (8 frames) and SQLite."""
    stack = ExitStack()

    def start(**overrides) -> TestClient:
        settings = app_settings_factory(tmp_path / "data", **({"max_upload_mb": 2} | overrides))
        app = create_app(settings, detector_factory=lambda s: tiny_detector)
        return stack.enter_context(TestClient(app))

    with stack:
        yield start
