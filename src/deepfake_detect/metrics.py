"""Prometheus metrics of one process, in a registry of its own (one per app, so tests can build many).

Requests and latencies by route and status are counted by api/metrics.py's middleware; analysis
stage times come from each VideoReport (both /predict and jobs); jobs by state and queue depth are
read from the database at scrape time, so every process reports the same, cluster-wide figures.
`deepfake-detect worker --metrics-port` serves a worker process's own counters.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .report import VideoReport

STAGES = ("decode", "detect", "crop", "classify", "aggregate", "total")
_STAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "deepfake_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "deepfake_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "deepfake_analysis_stage_seconds",
            "Time per analysis stage (from each report's timings)",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.videos = Counter(
            "deepfake_videos_analyzed", "Videos analysed, by prediction", ["prediction"], registry=r
        )
        self.jobs_finished = Counter(
            "deepfake_jobs_finished", "Jobs this process finished, by state", ["state"], registry=r
        )
        self.webhook_attempts = Counter(
            "deepfake_webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, failed, gave_up)",
            ["outcome"],
            registry=r,
        )
        self.model = Info("deepfake_model", "The model this process serves", registry=r)
        self.up = Gauge("deepfake_model_loaded", "1 when a model is loaded", registry=r)

    def observe_report(self, report: VideoReport) -> None:
        for stage in STAGES:
            self.stage_seconds.labels(stage).observe(getattr(report.timings, f"{stage}_s"))
        self.videos.labels(report.prediction).inc()

    def job_finished(self, state: str) -> None:
        self.jobs_finished.labels(state).inc()

    def webhook_attempt(self, outcome: str) -> None:
        self.webhook_attempts.labels(outcome).inc()

    def set_model(self, model_id: str | None) -> None:
        self.up.set(1 if model_id else 0)
        if model_id:
            self.model.info({"model_id": model_id})

    def watch_jobs(self, counts_by_state: Callable[[], dict[str, int]]) -> None:
        self.registry.register(JobsCollector(counts_by_state))


class JobsCollector(Collector):
    """Jobs by state and the queue depth, read from the shared database when scraped."""

    def __init__(self, counts_by_state: Callable[[], dict[str, int]]):
        self.counts_by_state = counts_by_state

    def collect(self):
        counts = self.counts_by_state()
        by_state = GaugeMetricFamily("deepfake_jobs", "Jobs in the database by state", labels=["state"])
        for state in ("queued", "running", "succeeded", "failed", "cancelled"):
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        yield GaugeMetricFamily(
            "deepfake_job_queue_depth", "Jobs waiting for a worker", value=counts.get("queued", 0)
        )
