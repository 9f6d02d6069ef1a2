"""/metrics (Prometheus), /livez and /readyz, and the OpenAPI document of the new routes."""

from __future__ import annotations

from jobs_helpers import submit, wait_for
from prometheus_client.parser import text_string_to_metric_families

from deepfake_detect import Settings
from deepfake_detect.api.app import create_app


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_stages_jobs_and_webhooks(jobs_client, video_short, text_as_mp4):
    client = jobs_client()
    with open(video_short, "rb") as f:
        assert client.post("/predict", files={"file": f}).status_code == 200
    ok = wait_for(client, submit(client, video_short)["id"])
    wait_for(client, submit(client, text_as_mp4)["id"])
    client.get(f"/jobs/{ok['id']}")
    client.get("/nope")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    m = samples(r.text)
    assert (
        m[("deepfake_http_requests_total", (("method", "POST"), ("route", "/predict"), ("status", "200")))]
        == 1
    )
    assert (
        m[("deepfake_http_requests_total", (("method", "POST"), ("route", "/jobs"), ("status", "202")))] == 2
    )
    assert (
        m[
            (
                "deepfake_http_requests_total",
                (("method", "GET"), ("route", "/jobs/{job_id}"), ("status", "200")),
            )
        ]
        >= 3
    )
    assert (
        m[("deepfake_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))]
        == 1
    )
    assert (
        m[("deepfake_http_request_duration_seconds_count", (("method", "POST"), ("route", "/predict")))] == 1
    )
    for stage in ("decode", "detect", "crop", "classify", "total"):  # /predict and the job's analysis
        assert m[("deepfake_analysis_stage_seconds_count", (("stage", stage),))] == 2
    assert m[("deepfake_jobs", (("state", "succeeded"),))] == 1
    assert m[("deepfake_jobs", (("state", "failed"),))] == 1
    assert m[("deepfake_job_queue_depth", ())] == 0
    assert m[("deepfake_jobs_finished_total", (("state", "succeeded"),))] == 1
    model_id = client.get("/health").json()["model_id"]
    assert m[("deepfake_model_info", (("model_id", model_id),))] == 1
    assert "deepfake_webhook_attempts" in r.text


def test_queue_depth_counts_waiting_jobs(jobs_client, video_short):
    client = jobs_client(job_workers=0)
    for _ in range(3):
        submit(client, video_short)
    m = samples(client.get("/metrics").text)
    assert m[("deepfake_job_queue_depth", ())] == 3 and m[("deepfake_jobs", (("state", "queued"),))] == 3


def test_probes(jobs_client, tmp_path):
    client = jobs_client()
    assert client.get("/livez").json() == {"status": "alive"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["database"] in ("sqlite", "postgresql")
    settings = Settings(model_path=tmp_path / "missing.pth", data_dir=tmp_path / "d", warmup=False)
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as broken:
        assert broken.get("/livez").status_code == 200
        r = broken.get("/readyz")
        assert r.status_code == 503 and "missing.pth" in r.json()["detail"]


def test_openapi_documents_every_status_code(jobs_client):
    paths = jobs_client(job_workers=0).get("/openapi.json").json()["paths"]
    assert set(paths["/jobs"]["post"]["responses"]) >= {"202", "401", "413", "422", "429", "503"}
    assert set(paths["/jobs"]["get"]["responses"]) >= {"200", "401", "422", "429"}
    assert set(paths["/jobs/{job_id}"]["get"]["responses"]) >= {"200", "401", "404", "429"}
    assert set(paths["/jobs/{job_id}"]["delete"]["responses"]) >= {"200", "204", "404"}
    assert set(paths["/jobs/{job_id}/video"]["get"]["responses"]) >= {"200", "404"}
    assert set(paths["/predict"]["post"]["responses"]) >= {"200", "401", "413", "415", "422", "429", "503"}
    assert set(paths["/readyz"]["get"]["responses"]) >= {"200", "503"}
    assert "401" not in paths["/health"]["get"]["responses"]
