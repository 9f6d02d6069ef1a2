"""The exception hierarchy. Each error knows its HTTP status, so the API maps them in one place.

>>> try:
...     raise CorruptMedia("moov atom not found")
... except DetectorError as e:
...     (e.status, e.title)
(422, 'Video could not be decoded')
"""

from __future__ import annotations


class DetectorError(Exception):
    """Base of every error this package raises on purpose."""

    status: int = 500
    title: str = "Detector error"
    slug: str = "detector-error"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class MediaError(DetectorError):
    """Something is wrong with the input file."""

    status = 422
    title = "Invalid media"
    slug = "invalid-media"


class UnsupportedMedia(MediaError):
    """The file is not a video container/codec we can read (text, image, audio only...)."""

    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media"


class CorruptMedia(MediaError):
    """The file claims to be a video but cannot be decoded (truncated, empty, damaged)."""

    status = 422
    title = "Video could not be decoded"
    slug = "corrupt-media"


class MediaTooLarge(MediaError):
    """The upload or the video exceeds a configured limit (bytes, duration, resolution)."""

    status = 413
    title = "Media too large"
    slug = "media-too-large"


class TooManyFiles(DetectorError):
    """A batch request holds more files than MAX_BATCH_FILES."""

    status = 400
    title = "Too many files"
    slug = "too-many-files"


class InvalidUpload(DetectorError):
    """The request is not the upload the route expects (e.g. two files where one is analysed)."""

    status = 422
    title = "Invalid upload"
    slug = "invalid-upload"


class ModelError(DetectorError):
    status = 503
    title = "Model unavailable"
    slug = "model-unavailable"


class NoModel(ModelError):
    """No model is configured or it failed to load; the service cannot predict."""

    title = "No model loaded"
    slug = "no-model"


class CheckpointError(ModelError):
    """A checkpoint file exists but cannot be loaded (wrong format, shapes, unknown architecture)."""

    title = "Checkpoint could not be loaded"
    slug = "bad-checkpoint"


class Overloaded(DetectorError):
    """Every inference worker is busy and the queue is full; retry later."""

    status = 503
    title = "Server busy"
    slug = "overloaded"

    def __init__(self, detail: str, retry_after_s: int = 5):
        super().__init__(detail)
        self.retry_after_s = retry_after_s


# --- jobs API (jobs/, api/routes/jobs.py) ---


class JobNotFound(DetectorError):
    """No such job for this caller (or it was deleted, or purged after RESULT_TTL_DAYS)."""

    status = 404
    title = "Job not found"
    slug = "job-not-found"


class InvalidRequest(DetectorError):
    """A request field is well-formed but not acceptable (callback host not allowed, bad cursor...)."""

    status = 422
    title = "Invalid request"
    slug = "invalid-request"


class IdempotencyKeyReused(InvalidRequest):
    """An Idempotency-Key came back with another request (another file, callback_url or keep_upload).
    Replaying the first job would hand one video's verdict to another: a retry repeats the request, a new
    video takes a new key (draft-ietf-httpapi-idempotency-key-header answers 422 too)."""

    title = "Idempotency-Key used for another request"
    slug = "idempotency-key-reused"


class Unauthorized(DetectorError):
    """API keys are configured and the request carries no valid `Authorization: Bearer <key>`."""

    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class RateLimited(DetectorError):
    """This API key has used up its request rate; retry after `retry_after_s`."""

    status = 429
    title = "Too many requests"
    slug = "rate-limited"

    def __init__(self, detail: str, retry_after_s: int = 1):
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class NotReady(DetectorError):
    """The service cannot take work yet (model not loaded, database unreachable)."""

    status = 503
    title = "Not ready"
    slug = "not-ready"


# --- evidence of a finished job (evidence/, api/routes/evidence.py) ---


class EvidenceNotFound(DetectorError):
    """The job has no such face or frame, or its video was not kept (submit with keep_upload=true)."""

    status = 404
    title = "Evidence not found"
    slug = "evidence-not-found"


class EvidenceConflict(DetectorError):
    """The job cannot show evidence now: not finished, failed, or analysed by another model than this
    server's."""

    status = 409
    title = "No evidence for this job"
    slug = "evidence-conflict"


class ExplainUnavailable(ModelError):
    """The served model cannot be run with gradients (its weights are neither in memory nor on disk)."""

    title = "Explanations unavailable"
    slug = "explain-unavailable"
