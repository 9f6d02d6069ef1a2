"""Errors in words a person understands, for the page. One table, used by the server (a failed job's
page) and, embedded as JSON, by the browser (an upload the API refused): `{detail}` is the problem's
detail, `{retry}` the Retry-After seconds."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "unsupported-media": "This file is not a video the service can read ({detail}). "
    "Try an MP4, MOV, MKV, WebM or AVI file.",
    "corrupt-media": "This looks like a video, but it could not be decoded: it may be damaged or cut "
    "short ({detail}).",
    "media-too-large": "This file is too large to analyse: {detail}.",
    "invalid-media": "This file cannot be analysed: {detail}.",
    "invalid-upload": "The upload was not accepted: {detail}.",
    "upload-timeout": "The upload was too slow and the server stopped waiting ({detail}). Try again.",
    "evidence-not-found": "This picture is not available: {detail}.",
    "evidence-conflict": "This picture is not available: {detail}.",
    "explain-unavailable": "The heatmaps cannot be computed on this server ({detail}).",
    "overloaded": "The server is busy right now. Try again in {retry} s.",
    "rate-limited": "Too many requests with this API key. Try again in {retry} s.",
    "not-ready": "The service cannot analyse videos right now ({detail}). Try again in a minute.",
    "no-model": "The service has no model loaded, so it cannot analyse videos ({detail}).",
    "model-unavailable": "The service cannot analyse videos right now ({detail}).",
    "bad-checkpoint": "The service's model could not be loaded ({detail}).",
    "unauthorized": "This service needs an API key. Enter yours on the key page.",
    "worker-lost": "The analysis of this file stopped unexpectedly, several times ({detail}).",
    "invalid-request": "The request was not accepted: {detail}.",
    "idempotency-key-reused": "The request was not accepted: {detail}.",
    "job-not-found": "This analysis no longer exists (deleted, or older than the retention period).",
    "network": "The connection to the server was lost. Check your network and try again.",
    "default": "Something went wrong: {detail}.",
}
DEFAULT_RETRY_S = 5


def human_message(slug: str, detail: str | None = None, retry_after_s: int | None = None) -> str:
    """The sentence for a problem `slug` (the last part of its `type`), e.g. "unsupported-media"."""
    template = MESSAGES.get(slug, MESSAGES["default"])
    text = (detail or "unknown error").rstrip(".")
    return template.replace("{detail}", text).replace("{retry}", str(retry_after_s or DEFAULT_RETRY_S))


def human_error(problem: dict | None, retry_after_s: int | None = None) -> str:
    """The sentence for a problem+json body (RFC 9457), as a failed job keeps it."""
    problem = problem or {}
    slug = str(problem.get("type", "")).rsplit(":", 1)[-1]
    return human_message(slug, problem.get("detail") or problem.get("title"), retry_after_s)
