"""Schemathesis against the app's own OpenAPI: every operation, at least 100 generated cases where the
input space has that many (a GET without parameters has only one), no 5xx, and every answer matching
the documented schema: status code, content type, headers and body (problem+json included).

Schemathesis' pytest plugin (`schema.parametrize`) does not run under pytest 9 here (it reads a
private `Function._nodeid`), so the operations are driven through its Python API: each operation's
Hypothesis strategy, in positive (valid by the schema) and negative (invalid) mode.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from deepfake_detect import Settings
from deepfake_detect.api.app import create_app

# Two allowances, each for something a multipart schema cannot express; every other check runs as shipped:
# - "bytes that decode as a video": schema-valid uploads of arbitrary bytes are rightly refused by
#   content (413/415/422, documented per operation);
# - a batch answers 200 with an error per file, and on the wire a "file" that schemathesis made
#   invalid (an object instead of a string) is one more file part of bytes: its item says 415.
CONFIG = schemathesis.config.SchemathesisConfig.from_str(
    """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "413", "415", "422"]

[[operations]]
include-path = "/predict/batch"
checks.negative_data_rejection.enabled = false
"""
)
SENT: Counter[str] = Counter()  # "METHOD /path" -> generated cases sent, both modes


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def api_schema(tiny_detector, upload_dir):
    app_settings = Settings(frames_per_video=4, max_upload_mb=2, upload_dir=upload_dir)
    app = create_app(app_settings, lambda s: tiny_detector)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
def test_every_operation_matches_its_openapi(api_schema, upload_dir, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {"POST /predict", "POST /predict/batch"}
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        inputs = [*operation.body, *operation.query, *operation.headers, *operation.path_parameters]
        if mode is GenerationMode.NEGATIVE and not inputs:
            continue  # nothing to make invalid

        _fuzz_operation(operation, mode, label, upload_dir)


def _fuzz_operation(operation, mode, label: str, upload_dir) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        SENT[label] += 1
        case.call_and_validate()
        assert list(upload_dir.iterdir()) == []

    run()


def test_cases_sent_per_operation():
    """After both modes: the uploads (the operations with inputs) got at least 100 cases each."""
    print("\nschemathesis cases per operation:", dict(SENT), "total", sum(SENT.values()))
    assert all(SENT[op] >= 100 for op in ("POST /predict", "POST /predict/batch"))
