"""Schemathesis against the app's own OpenAPI: every operation (predict, jobs, info, probes, metrics),
at least 100 generated cases where the input space has that many (a GET without parameters has only
one), no 5xx, and every answer matching the documented schema: status code, content type, headers and
body (problem+json included).

The app runs as it is deployed with API keys: schemathesis sends a valid key, and its `ignored_auth`
check confirms, once per operation, that the same request without a key or with a wrong one is
refused (401). Every upload leaves nothing behind: /predict's temporary files are checked after each
case, and once the job workers have drained the queue, only the uploads of jobs that asked to keep
them remain (deleted through the API at the end).

Schemathesis' pytest plugin (`schema.parametrize`) does not run under pytest 9 here (it reads a
private `Function._nodeid`), so the operations are driven through its Python API: each operation's
Hypothesis strategy, in positive (valid by the schema) and negative (invalid) mode.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from deepfake_detect import Settings
from deepfake_detect.api.app import create_app
from deepfake_detect.jobs.store import JobFilter

KEY = "dfd_schemathesis-key"
# Allowances, each for something a schema cannot express; every other check runs as shipped:
# - "bytes that decode as a video": schema-valid uploads of arbitrary bytes are rightly refused by
#   content (413/415/422, documented per operation);
# - a job id that is well-formed but names no job: 404 (documented);
# - multipart has no types: a "file" made invalid (an integer, an object) is one more file part of
#   bytes on the wire, a boolean made a string ("", "1") is text as every boolean is. /predict refuses
#   such bytes by content (415); a batch answers 200 with an error per file; POST /jobs accepts them
#   (202) and the job fails with the same 415 (checked in test_jobs_leave_no_upload_behind and in
#   tests/hostile/test_corpus.py), so "negative data rejection" cannot hold for these two.
CONFIG = schemathesis.config.SchemathesisConfig.from_str(
    f"""
[auth.openapi.HTTPBearer]
bearer = "{KEY}"

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "413", "415", "422"]

[[operations]]
include-path-regex = "^/jobs/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "422"]

[[operations]]
include-path = "/predict/batch"
checks.negative_data_rejection.enabled = false

[[operations]]
include-path = "/jobs"
include-method = "POST"
checks.negative_data_rejection.enabled = false
"""
)
UPLOADS = ("POST /predict", "POST /predict/batch", "POST /jobs")
SENT: Counter[str] = Counter()  # "METHOD /path" -> generated cases sent, both modes
ANSWERS: Counter[tuple[str, int]] = Counter()  # ("METHOD /path", status) -> count


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("schemathesis")
    (root / "uploads").mkdir()
    key = f'[[keys]]\nname = "fuzz"\nkey = "{KEY}"\nrate_limit = "1000000/minute"\n'
    (root / "keys.toml").write_text(key)
    return root


@pytest.fixture(scope="module")
def app_settings(root: Path, app_settings_factory) -> Settings:
    return app_settings_factory(
        root / "data",  # SQLite jobs database and the jobs' uploads
        frames_per_video=4,
        max_upload_mb=2,
        upload_dir=root / "uploads",
        api_keys_file=root / "keys.toml",
    )


@pytest.fixture(scope="module")
def api_schema(tiny_detector, app_settings: Settings):
    app = create_app(app_settings, lambda s: tiny_detector)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
def test_every_operation_matches_its_openapi(api_schema, app_settings, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    assert labels >= {*UPLOADS, "GET /jobs", "GET /jobs/{job_id}", "DELETE /jobs/{job_id}", "GET /info"}
    failures = []
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        inputs = [*operation.body, *operation.query, *operation.headers, *operation.path_parameters]
        if mode is GenerationMode.NEGATIVE and not inputs:
            continue  # nothing to make invalid
        try:
            _fuzz_operation(operation, mode, label, app_settings.upload_dir)
        except Exception as e:  # every operation runs; all failures are reported together
            failures.append(f"{label}: {e}")
    assert not failures, "\n\n".join(failures)


def _fuzz_operation(operation, mode, label: str, upload_dir) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        SENT[label] += 1
        response = case.call_and_validate()
        ANSWERS[label, response.status_code] += 1
        assert list(upload_dir.iterdir()) == []

    run()


def test_jobs_leave_no_upload_behind(api_schema, app_settings):
    """After both modes: every job schemathesis made ends, failed with a 4xx problem if not a video;
    only the uploads of jobs that asked to keep them remain, and deleting those jobs removes them.
    (Schemathesis ends the app's lifespan after each test; this one starts it again, and its job
    workers drain what is left in the queue.)"""
    app = api_schema.app
    stored = app_settings.data_dir / "uploads"
    store = app.state.jobs.store
    with TestClient(app) as client:
        deadline = time.monotonic() + 300  # a bound against hangs, not a speed check
        while store.counts_by_state().keys() & {"queued", "running"}:
            assert time.monotonic() < deadline, store.counts_by_state()
            time.sleep(0.1)
        counts = store.counts_by_state()
        jobs, _ = store.list_jobs(None, JobFilter(), None, 100_000)
        # Whatever bytes schemathesis sent, a job ends as /predict would answer: a 4xx reason, never
        # an internal error, and the worker goes on.
        assert all(job.state == "succeeded" or 400 <= job.error["status"] < 500 for job in jobs), [
            job.error for job in jobs if job.state != "succeeded"
        ]
        kept = {job.id for job in jobs if job.keep_upload}
        assert {p.name for p in stored.iterdir()} == kept
        for job_id in kept:
            response = client.delete(f"/jobs/{job_id}", headers={"Authorization": f"Bearer {KEY}"})
            assert response.status_code == 204, response.text
    assert list(stored.iterdir()) == []
    print(f"\nschemathesis jobs by state: {counts}, uploads kept then deleted: {len(kept)}")


def test_cases_sent_per_operation():
    """After both modes: the uploads got at least 100 cases each; every operation got some."""
    print("\nschemathesis cases per operation:", dict(SENT), "total", sum(SENT.values()))
    print("answers (operation, status): count:", dict(sorted(ANSWERS.items())))
    assert all(SENT[op] >= 100 for op in UPLOADS)
