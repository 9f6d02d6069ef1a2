"""Every error leaves the API as RFC 9457 `application/problem+json`, mapped here in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import DetectorError, Unauthorized

log = logging.getLogger("deepfake_detect.api")
PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    model_config = ConfigDict(extra="allow")  # e.g. `errors` on 422 for invalid requests

    type: str
    title: str
    status: int
    detail: str
    instance: str


_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}
}


def documented_problem(description: str, retry_after: bool = False) -> dict[str, Any]:
    """An OpenAPI `responses` entry: problem+json with the `Problem` schema (and Retry-After), so
    clients and schemathesis know the error bodies, not only their status codes."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": schema}},
        **({"headers": _RETRY_AFTER} if retry_after else {}),
    }


def problem(status: int, title: str, detail: str, slug: str, instance: str, **extra) -> JSONResponse:
    """An RFC 9457 response; `instance` is the request path."""
    body = {
        "type": f"urn:deepfake-detect:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def problem_body(error: DetectorError) -> dict:
    """The problem fields for an error inside a batch answer (no HTTP response of its own)."""
    return {"type": f"urn:deepfake-detect:problem:{error.slug}", "title": error.title, "status": error.status}


def error_response(exc: DetectorError, instance: str) -> JSONResponse:
    """The response for one of our errors, with the headers its kind calls for (routes and middleware)."""
    response = problem(exc.status, exc.title, exc.detail, exc.slug, instance)
    retry_after = getattr(exc, "retry_after_s", None)  # Overloaded (503), RateLimited (429)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _detector_error(request: Request, exc: DetectorError) -> JSONResponse:
    return error_response(exc, request.url.path)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slugs = {400: "bad-request", 404: "not-found", 405: "method-not-allowed", 408: "upload-timeout"}
    slug = {**slugs, 413: "media-too-large"}.get(exc.status_code, "http")
    titles = {400: "Bad request", 408: "Upload timed out", 413: "Media too large"}
    title = titles.get(exc.status_code, "HTTP error")
    response = problem(exc.status_code, title, str(exc.detail), slug, request.url.path)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


# How each upload field is sent, for a request that lacks it or sends text in its place.
_UPLOAD_HINTS = {
    "file": "send the video as multipart/form-data field 'file', e.g. curl -F file=@video.mp4",
    "files": "send the videos as repeated multipart/form-data fields 'files', "
    "e.g. curl -F files=@a.mp4 -F files=@b.mp4",
}


def _field(loc: list) -> str:
    """The parameter a validation error is about: ["query", "state", 0] -> "state" (not the item's 0)."""
    names = [str(part) for part in loc[1:] if isinstance(part, str)]
    return names[-1] if names else "body"


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", "")} for e in exc.errors()]
    missing = [_field(e["loc"]) for e in errors if e["msg"] == "Field required" and e["loc"]]
    as_text = [_field(e["loc"]) for e in errors if "Expected UploadFile" in e["msg"] and e["loc"]]
    if missing or as_text:
        found = [f"missing form field(s): {', '.join(missing)}"] if missing else []
        found += [f"form field(s) {', '.join(as_text)} hold text, not a file"] if as_text else []
        hints = [_UPLOAD_HINTS[f] for f in dict.fromkeys(missing + as_text) if f in _UPLOAD_HINTS]
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = "" if kind == "multipart/form-data" else f"the body is {kind or 'not typed'}, not multipart; "
        detail = body + "; ".join(found) + (f" ({'; '.join(hints)})" if hints else "")
    else:
        detail = "the request is not valid: " + "; ".join(f"{_field(e['loc'])}: {e['msg']}" for e in errors)
    return problem(422, "Invalid request", detail[:600], "invalid-request", request.url.path, errors=errors)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return problem(
        500,
        "Internal error",
        "an unexpected error occurred; it has been logged",
        "internal",
        request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types every handler as taking `Exception`; each of ours takes the class it is registered for.
    app.add_exception_handler(DetectorError, _detector_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
