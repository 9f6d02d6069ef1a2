"""JobsRuntime: the database, the uploads, the keys and the background threads of one process.

The API server makes one (JOB_WORKERS worker threads beside the routes); `deepfake-detect worker`
makes one with its own Detector and no API. Every process also delivers due webhooks and, once a
minute, purges expired jobs (RESULT_TTL_DAYS), fails jobs whose workers kept dying, and sweeps
uploads no job needs; all of it is claimed through the database, so any number of processes may
share the work.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..config import Settings
from .db import database_url, make_engine, safe_url, upgrade
from .files import UploadStore
from .keys import KeyRing
from .schema import utcnow
from .store import JobStore
from .views import AuthInfo, JobsInfo
from .webhooks import WebhookDispatcher
from .worker import Analyzer, JobWorker

log = logging.getLogger("deepfake_detect.jobs")
HOUSEKEEPING_EVERY_S = 60.0


class JobsRuntime:
    def __init__(self, settings: Settings, detector: Callable[[], Analyzer | None], metrics: Any = None):
        self.settings = settings
        self.url = database_url(settings)
        self.engine = make_engine(self.url)
        self.store = JobStore(self.engine)
        self.uploads = UploadStore(settings.data_dir)
        self.keys: KeyRing | None = None
        self.detector = detector
        self.metrics = metrics
        self.revision: str | None = None
        self.wake = threading.Event()  # a job was submitted here: workers need not wait for the poll
        self.webhooks_due = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.workers: list[JobWorker] = []
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    @property
    def database(self) -> str:
        return safe_url(self.url)

    def auth_info(self) -> AuthInfo:
        is_open = self.keys is None or self.keys.open
        return AuthInfo(mode="open" if is_open else "api_keys", default_rate_limit=self.settings.rate_limit)

    def info(self) -> JobsInfo:
        return JobsInfo(
            database=self.database,
            schema_revision=self.revision,
            workers_in_process=self.settings.job_workers,
            webhook_allowed_hosts=self.settings.webhook_allowed_hosts,
        )

    def migrate(self) -> None:
        self.revision = upgrade(self.engine)
        self.keys = KeyRing(self.store, self.settings.api_keys_file)

    def start(self, workers: int | None = None) -> None:
        """Migrate, then start `workers` job threads (default JOB_WORKERS) and the housekeeping thread."""
        if self.keys is None:
            self.migrate()
        count = self.settings.job_workers if workers is None else workers
        for i in range(count):
            worker = JobWorker(
                self.store,
                self.uploads,
                self.detector,
                name=f"{self.name}/{i}",
                lease_s=self.settings.job_lease_s,
                max_attempts=self.settings.job_max_attempts,
                on_report=getattr(self.metrics, "observe_report", None),
                on_finished=self._job_finished,
            )
            self.workers.append(worker)
            args = (self._stop, self.wake, self.settings.job_poll_s)
            self._spawn(f"job-worker-{i}", worker.run_forever, *args)
        self._spawn("jobs-housekeeping", self._housekeeping, self._stop)
        log.info(
            "jobs: %s (schema %s), %d worker thread(s) in %s", self.database, self.revision, count, self.name
        )

    def _spawn(self, name: str, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _job_finished(self, state: str) -> None:
        if self.metrics is not None:
            self.metrics.job_finished(state)
        self.webhooks_due.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self.wake.set()
        self.webhooks_due.set()
        for worker in self.workers:
            worker.release_all()
        for thread in self._threads:
            thread.join(timeout_s)
        self.engine.dispose()
        # Ready to start again, as the same app's second lifespan does (test clients; schemathesis
        # found jobs left queued forever when the stop event stayed set). A thread still finishing
        # keeps the old, set event and ends on its own.
        self._stop = threading.Event()
        self._threads, self.workers = [], []

    def dispatcher(self) -> WebhookDispatcher:
        s = self.settings
        secret = s.webhook_secret.get_secret_value() if s.webhook_secret else None
        return WebhookDispatcher(
            self.store,
            secret_for=lambda owner: (
                (self.keys.webhook_secret(owner) if self.keys and owner else None) or secret
            ),
            allowed_hosts=s.webhook_allowed_hosts,
            timeout_s=s.webhook_timeout_s,
            max_attempts=s.webhook_max_attempts,
            retry_base_s=s.webhook_retry_base_s,
            on_attempt=getattr(self.metrics, "webhook_attempt", None),
        )

    def housekeeping(self) -> dict:
        """Purge expired jobs and sweep unneeded uploads (also run by hand in tests)."""
        cutoff = utcnow() - timedelta(days=self.settings.result_ttl_days)
        purged = self.store.purge_finished_before(cutoff)
        for job_id in purged:
            self.uploads.delete(job_id)
        swept = self.uploads.sweep(self.store.upload_needed)
        if purged or swept:
            log.info("housekeeping: purged %d expired job(s), swept %d upload(s)", len(purged), len(swept))
        return {"purged": purged, "swept": swept}

    def _housekeeping(self, stop: threading.Event) -> None:
        dispatcher = self.dispatcher()
        last = -HOUSEKEEPING_EVERY_S
        try:
            while not stop.is_set():
                try:
                    dispatcher.deliver_due()
                    if time.monotonic() - last >= HOUSEKEEPING_EVERY_S:
                        last = time.monotonic()
                        self.housekeeping()
                except Exception:
                    log.exception("jobs housekeeping failed; retrying")
                self.webhooks_due.wait(self.settings.job_poll_s)
                self.webhooks_due.clear()
        finally:
            dispatcher.close()
