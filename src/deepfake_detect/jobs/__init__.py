"""Jobs: submit a video, get an id at once, poll or be called back; durable in a SQL database.

    JobsRuntime   one process's database, uploads, keys and background threads (runtime.py)
    JobStore      the repository over SQLAlchemy: create, list, claim, fenced writes (store.py)
    JobWorker     claim -> Detector.analyze -> result; reusable anywhere (worker.py)
    WebhookDispatcher, sign, verify   signed callbacks with retries (webhooks.py)

docs/jobs.md has the schema, the states and how several processes and machines share the work.
"""

from .runtime import JobsRuntime
from .store import JobFilter, JobStore
from .webhooks import WebhookDispatcher, sign, verify
from .worker import JobWorker

__all__ = ["JobFilter", "JobStore", "JobWorker", "JobsRuntime", "WebhookDispatcher", "sign", "verify"]
