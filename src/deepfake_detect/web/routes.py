"""The page's HTML routes (left out of the OpenAPI schema: they are for browsers, not clients) and its
static files at /ui/static."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from ..api.auth import KEY_COOKIE, Caller, authenticate
from ..api.deps import EvidenceDep, JobsDep, ServiceDep
from ..errors import DetectorError, Unauthorized
from ..jobs.store import JOB_ID_PATTERN, JobFilter
from ..jobs.views import summary, view
from ..report import VideoReport
from . import views
from .messages import MESSAGES, human_error, human_message
from .reports import known_limits_html, model_card_html, report_images

router = APIRouter(prefix="/ui", include_in_schema=False)
templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("deepfake_detect.web", "templates"), autoescape=select_autoescape(default=True)
    )
)
templates.env.globals.update(
    views=views, messages=MESSAGES, human_error=human_error, human_message=human_message
)
HISTORY_PAGE = 20


def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return templates.TemplateResponse(request, name, {"root": root, **context}, status_code=status)


def caller_or_login(request: Request) -> Caller | RedirectResponse:
    """The caller, or (API keys configured, no valid key in the cookie) a redirect to the key form."""
    try:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        is_bearer = scheme.lower() == "bearer" and token
        bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if is_bearer else None
        return authenticate(request, bearer)
    except Unauthorized:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/ui/key?next={request.url.path}", 303)


def not_found(request: Request, what: str) -> HTMLResponse:
    return page(request, "error.html", 404, title="Not found", message=what)


@router.get("", response_class=HTMLResponse)
def upload(request: Request, service: ServiceDep) -> Response:
    caller = caller_or_login(request)  # with API keys, ask for one before the first upload fails
    if isinstance(caller, Response):
        return caller
    settings = service.settings
    return page(
        request,
        "upload.html",
        max_upload_mb=settings.max_upload_mb,
        max_duration_s=settings.max_duration_s,
        unavailable=service.unavailable_reason,
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, jobs: JobsDep) -> Response:
    caller = caller_or_login(request)
    if isinstance(caller, Response):
        return caller
    job = jobs.store.get(job_id, caller.owner)
    if job is None:
        return not_found(request, human_message("job-not-found"))
    video_kept = job.keep_upload and jobs.uploads.path(job.id).is_file()
    return page(request, "job.html", job=view(job), video_kept=video_kept)


@router.get("/jobs/{job_id}/report", response_class=HTMLResponse)
async def printable_report(
    request: Request, job_id: str, jobs: JobsDep, service: ServiceDep, evidence: EvidenceDep
) -> Response:
    """Verdict, timeline, thumbnails and heatmaps (embedded, so it prints and saves as one file)."""
    caller = caller_or_login(request)
    if isinstance(caller, Response):
        return caller
    job = await run_in_threadpool(jobs.store.get, job_id, caller.owner)
    if job is None or job.result is None:
        return not_found(request, "This analysis has no result to report (unknown, unfinished or failed).")
    report = VideoReport.model_validate(job.result)
    detector = service.detector
    model = detector.describe() if detector and detector.model_id == report.model_id else None
    try:
        images, note = await report_images(jobs, service, evidence, job, report)
    except DetectorError as e:  # busy or undecodable: the report prints without images
        images, note = {}, human_message(e.slug, e.detail)
    return page(
        request,
        "report.html",
        job=view(job),
        report=report,
        model=model,
        limits_html=known_limits_html(detector) if model else None,
        images=images,
        note=note,
        settings=service.settings,
    )


@router.get("/history", response_class=HTMLResponse)
def history(
    request: Request,
    jobs: JobsDep,
    verdict: Annotated[Literal["", "REAL", "FAKE", "NO_FACE"], Query()] = "",
    cursor: Annotated[str | None, Query(pattern=f"^({JOB_ID_PATTERN[1:-1]})?$")] = None,
) -> Response:
    caller = caller_or_login(request)
    if isinstance(caller, Response):
        return caller
    where = JobFilter(prediction=verdict or None)
    items, next_cursor = jobs.store.list_jobs(caller.owner, where, cursor or None, HISTORY_PAGE)
    return page(
        request,
        "history.html",
        items=[summary(j) for j in items],
        next_cursor=next_cursor,
        verdict=verdict,
        first_page=not cursor,
    )


@router.get("/model", response_class=HTMLResponse)
def model_page(request: Request, service: ServiceDep) -> Response:
    detector = service.detector
    model = detector.describe() if detector else None
    return page(
        request,
        "model.html",
        model=model,
        card_html=model_card_html(detector) if detector else None,
        unavailable=service.unavailable_reason,
    )


@router.get("/key", response_class=HTMLResponse)
def key_form(request: Request, next: str = "/ui") -> Response:
    return page(request, "key.html", next=_local(next), error=None)


@router.post("/key", response_class=HTMLResponse)
def key_submit(
    request: Request,
    jobs: JobsDep,
    key: Annotated[str, Form(max_length=512)],
    next: Annotated[str, Form()] = "/ui",
) -> Response:
    """Check the key, then keep it in an HttpOnly, SameSite=Strict cookie the API accepts like a Bearer."""
    if jobs.keys is not None and not jobs.keys.open and jobs.keys.authenticate(key) is None:
        return page(request, "key.html", 401, next=_local(next), error="This key is not valid.")
    response = RedirectResponse(_local(next), 303)
    response.set_cookie(
        KEY_COOKIE, key, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )
    return response


@router.post("/key/forget")
def key_forget() -> Response:
    response = RedirectResponse("/ui/key", 303)
    response.delete_cookie(KEY_COOKIE, path="/")
    return response


def _local(path: str) -> str:
    """Only paths on this site: never redirect elsewhere."""
    return path if path.startswith("/ui") and "//" not in path and "\\" not in path else "/ui"


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(packages=[("deepfake_detect.web", "static")]), name="ui-static")
