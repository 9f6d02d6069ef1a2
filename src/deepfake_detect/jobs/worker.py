"""JobWorker: claim a job, run a Detector on its upload, record the result, delete the upload.

The worker needs only a JobStore, an UploadStore and something with the Detector's `analyze(path,
name, progress)`: the server runs it in threads beside its API, `deepfake-detect worker` in processes
of their own, and a Ray actor could hold one just the same.

While it analyses, a keeper thread renews the lease every third of JOB_LEASE_S, so only a worker that
is really gone (killed, frozen, cut off) loses its job to another; each stage's progress renews it too
and, if the job was cancelled meanwhile, stops the analysis there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from ..errors import DetectorError
from ..report import VideoReport
from .files import UploadStore
from .leases import Claim
from .store import JobStore

if TYPE_CHECKING:  # the pipeline imports torch and MTCNN; `keys` and `db` commands need neither
    from ..pipeline import Progress, ProgressCallback

log = logging.getLogger("deepfake_detect.jobs")


class Analyzer(Protocol):
    def analyze(
        self, path, name: str | None = None, progress: ProgressCallback | None = None
    ) -> VideoReport: ...


class JobLost(Exception):
    """The job was cancelled, or this worker's lease on it ran out and another worker took it."""


class JobWorker:
    def __init__(
        self,
        store: JobStore,
        uploads: UploadStore,
        detector: Callable[[], Analyzer | None],
        name: str,
        lease_s: float,
        max_attempts: int,
        on_report: Callable[[VideoReport], None] | None = None,
        on_finished: Callable[[str], None] | None = None,
    ):
        self.store = store
        self.uploads = uploads
        self.detector = detector
        self.name = name
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.on_report = on_report or (lambda report: None)
        self.on_finished = on_finished or (lambda state: None)
        self.held: dict[str, str] = {}  # job id -> lease token, for release() at shutdown

    def run_one(self) -> bool:
        """Process one job if there is one; True if a job was claimed."""
        for job_id, keep in self.store.fail_abandoned(self.max_attempts):
            log.warning("job %s failed: its workers kept dying", job_id)
            self.on_finished("failed")
            if not keep:
                self.uploads.delete(job_id)
        detector = self.detector()
        if detector is None:
            return False
        claim = self.store.claim(self.name, self.lease_s, self.max_attempts)
        if claim is None:
            return False
        self.held[claim.job_id] = claim.token
        try:
            self._process(detector, claim)
        finally:
            self.held.pop(claim.job_id, None)
        return True

    def run_forever(self, stop: threading.Event, wake: threading.Event | None = None, poll_s: float = 1.0):
        while not stop.is_set():
            try:
                busy = self.run_one()
            except Exception:  # the database is down, say: keep trying, do not die
                log.exception("job worker %s: error between jobs; retrying in %.1f s", self.name, poll_s)
                busy = False
            if not busy:
                if wake is not None:
                    wake.wait(poll_s)
                    wake.clear()
                else:
                    stop.wait(poll_s)

    def release_all(self) -> None:
        """Give held jobs back to the queue (graceful shutdown): another worker starts them at once."""
        for job_id, token in list(self.held.items()):
            if self.store.release(job_id, token):
                log.info("job %s handed back to the queue", job_id)

    def _process(self, detector: Analyzer, claim: Claim) -> None:
        path = self.uploads.path(claim.job_id)
        log.info("job %s claimed by %s (attempt %d)", claim.job_id, self.name, claim.attempts)

        def progress(event: Progress) -> None:
            ok = self.store.progress(
                claim.job_id, claim.token, event.stage, event.done, event.total, self.lease_s
            )
            if not ok:
                raise JobLost(claim.job_id)

        try:
            with self._keep_lease(claim):
                if not path.is_file():
                    raise DetectorError("the uploaded file is missing from the data directory")
                report = detector.analyze(path, claim.video_name, progress)
        except JobLost:
            log.info("job %s: cancelled or taken over; result dropped", claim.job_id)
            return
        except DetectorError as e:
            problem = {
                "type": f"urn:deepfake-detect:problem:{e.slug}",
                "title": e.title,
                "status": e.status,
                "detail": e.detail,
                "instance": f"/jobs/{claim.job_id}",
            }
            self._finish(claim, "failed", self.store.fail(claim.job_id, claim.token, problem))
            return
        except Exception:
            log.exception("job %s: unexpected error", claim.job_id)
            problem = {
                "type": "urn:deepfake-detect:problem:internal",
                "title": "Internal error",
                "status": 500,
                "detail": "an unexpected error occurred; it has been logged",
                "instance": f"/jobs/{claim.job_id}",
            }
            self._finish(claim, "failed", self.store.fail(claim.job_id, claim.token, problem))
            return
        self.on_report(report)
        self._finish(
            claim, "succeeded", self.store.succeed(claim.job_id, claim.token, report.model_dump(mode="json"))
        )

    def _finish(self, claim: Claim, state: str, recorded: bool) -> None:
        if not recorded:
            log.info("job %s: cancelled or taken over; result dropped", claim.job_id)
            return
        job = self.store.get(claim.job_id)
        if job is not None and not job.keep_upload:
            self.uploads.delete(claim.job_id)
        log.info("job %s %s (worker %s)", claim.job_id, state, self.name)
        self.on_finished(state)

    @contextmanager
    def _keep_lease(self, claim: Claim):
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease_s / 3):
                try:
                    if not self.store.renew(claim.job_id, claim.token, self.lease_s):
                        return
                except Exception:
                    log.exception("job %s: lease renewal failed", claim.job_id)

        keeper = threading.Thread(target=renew, name=f"lease-{claim.job_id[-6:]}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()
