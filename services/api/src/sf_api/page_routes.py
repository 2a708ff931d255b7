"""Server-rendered pages (Jinja2, autoescaped). Live parts reload small fragments on stage changes."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sleepy_factory.browse import page_of_jobs
from sleepy_factory.errors import InvalidInputError, SleepyFactoryError
from sleepy_factory.job_input import ASPECT_RATIOS, MAX_TOPIC_CHARS
from sleepy_factory.jobs import cancel_job, retry_job
from sleepy_factory.pipeline import FORMATS, MAX_LENGTH_SECONDS, STATUSES, Format, Status
from sleepy_factory.queue.records import Connection
from sleepy_factory.stage_changes import latest_change
from sleepy_factory.status import factory_status, list_processes, liveness

from sf_api import creating, downloads, formatting
from sf_api.api_routes import job_detail
from sf_api.security import CSRF_FIELD, SESSION_COOKIE
from sf_api.services import Services, database, services

# Autoescape everything: every topic, error and file name is user-supplied text.
TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
    )
)
TEMPLATES.env.filters.update(formatting.FILTERS)
TEMPLATES.env.globals.update(formatting.TEMPLATE_GLOBALS)
PAGE_SIZE = 25
MAX_SCRIPT_BYTES = 200_000

Db = Annotated[Connection, Depends(database)]
Svc = Annotated[Services, Depends(services)]
router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    svc: Services = request.app.state.services
    base = {
        "guard_on": svc.guard.enabled,
        "logged_in": svc.guard.logged_in(request),
        "csrf": svc.guard.csrf,
        "path": request.url.path,
    }
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, message=message)


def to_login(request: Request) -> Response:
    back = request.headers.get("referer") or "/"
    target = back if back.startswith("/") else "/" + back.split("://", 1)[-1].partition("/")[2]
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: Db) -> Response:
    return render(request, "overview.html", status=factory_status(db), cursor=latest_change(db))


@router.get("/fragments/overview", response_class=HTMLResponse)
def overview_fragment(request: Request, db: Db) -> Response:
    return render(request, "_overview_body.html", status=factory_status(db))


@router.get("/jobs", response_class=HTMLResponse)
def jobs(
    request: Request,
    db: Db,
    status: str = "",
    format: str = "",
    page: int = 1,
) -> Response:
    wanted_status = Status(status) if status in STATUSES else None
    wanted_format = Format(format) if format in FORMATS else None
    page = max(1, page)
    found = page_of_jobs(
        db, status=wanted_status, fmt=wanted_format, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    link = {"status": status, "format": format}
    return render(
        request,
        "jobs.html",
        page=found,
        number=page,
        pages=pages,
        status=status,
        format=format,
        statuses=STATUSES,
        formats=FORMATS,
        prev_url=f"/jobs?{urlencode({**link, 'page': page - 1})}" if page > 1 else None,
        next_url=f"/jobs?{urlencode({**link, 'page': page + 1})}" if page < pages else None,
        cursor=latest_change(db),
    )


@router.post("/jobs/bulk")
def bulk(
    request: Request,
    db: Db,
    svc: Svc,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    svc.guard.check_write(request, csrf)
    parsed = [uuid.UUID(i) for i in ids or [] if _is_uuid(i)]
    if action not in ("retry", "cancel"):
        raise InvalidInputError(f"unknown action {action!r}")
    operation = retry_job if action == "retry" else cancel_job
    with db.transaction():
        for job_id in parsed:
            operation(db, job_id)
    return RedirectResponse(_back_to(request, "/jobs"), 303)


@router.get("/jobs/new", response_class=HTMLResponse)
def new_job_form(request: Request) -> Response:
    return _new_job_page(request)


@router.post("/jobs/new")
async def new_job(
    request: Request,
    svc: Svc,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    format: Annotated[str, Form()] = Format.SHORT.value,
    topic: Annotated[str, Form()] = "",
    length_seconds: Annotated[str, Form()] = "",
    count: Annotated[str, Form()] = "1",
    aspect: Annotated[str, Form()] = "",
    voice: Annotated[str, Form()] = "",
    speaking_rate: Annotated[str, Form()] = "",
    script: Annotated[str, Form()] = "",
    draft: Annotated[str, Form()] = "",  # a checkbox: present ("on") when ticked
    file: UploadFile | None = None,
) -> Response:
    svc.guard.check_write(request, csrf)
    form = {
        "format": format,
        "topic": topic,
        "length_seconds": length_seconds,
        "count": count,
        "aspect": aspect,
        "voice": voice,
        "speaking_rate": speaking_rate,
        "script": script,
        "draft": "on" if draft else "",
    }
    try:
        if file is not None and file.filename:
            content = await file.read(creating.MAX_UPLOAD_BYTES + 1)
            requests = creating.requests_from_upload(file.filename, content)
        else:
            requests = creating.requests_for(
                _format(format),
                topic,
                _whole(length_seconds, "length"),
                _whole(count, "count") or 1,
                aspect=aspect or None,
                voice=voice.strip() or None,
                speaking_rate=speaking_rate.strip() or None,
                script=script if script.strip() else None,
                draft=bool(draft),
            )
        with svc.pool.connection() as conn:
            ids = creating.create_jobs(conn, requests)
    except SleepyFactoryError as exc:
        return _new_job_page(request, error=str(exc), form=form, status_code=400)
    return RedirectResponse(f"/jobs/{ids[0]}" if len(ids) == 1 else "/jobs", status_code=303)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: uuid.UUID, db: Db, svc: Svc) -> Response:
    return render(request, "job.html", **_job_context(db, svc, job_id), cursor=latest_change(db))


@router.get("/fragments/jobs/{job_id}", response_class=HTMLResponse)
def job_fragment(request: Request, job_id: uuid.UUID, db: Db, svc: Svc) -> Response:
    return render(request, "_job_live.html", **_job_context(db, svc, job_id))


@router.post("/jobs/{job_id}/{action}")
def job_action(
    request: Request,
    job_id: uuid.UUID,
    action: str,
    db: Db,
    svc: Svc,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    svc.guard.check_write(request, csrf)
    if action == "retry":
        retry_job(db, job_id)
    elif action == "cancel":
        cancel_job(db, job_id)
    else:
        return error_page(request, 404, f"no action {action!r}")
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/workers", response_class=HTMLResponse)
def workers(request: Request, db: Db) -> Response:
    processes = list_processes(db, include_stopped=True)
    rows = [(entry, liveness(entry)) for entry in processes.entries]
    return render(request, "workers.html", at=processes.at, rows=rows)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=_local(next))


@router.post("/login")
def login(
    request: Request,
    svc: Svc,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not svc.guard.accepts_login(token):
        return render(request, "login.html", status_code=401, next=_local(next), error="wrong token")
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        svc.guard.session_value(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=30 * 24 * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request, svc: Svc, csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    svc.guard.check_write(request, csrf)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _job_context(db: Connection, svc: Services, job_id: uuid.UUID) -> dict[str, Any]:
    detail = job_detail(db, svc, job_id)
    by_kind = {a.kind: a for a in detail.artifacts}
    script = None
    script_art = by_kind.get("script_md")
    if script_art is not None:
        row = downloads.find_artifact(db, job_id, script_art.stage, script_art.kind)
        with contextlib.suppress(HTTPException):  # gone, or in a bucket: the page shows no script
            path = downloads.local_file(svc.store, row)
            if path.stat().st_size <= MAX_SCRIPT_BYTES:
                script = path.read_text(encoding="utf-8", errors="replace")
    return {
        "detail": detail,
        "job": detail.job,
        "video": by_kind.get("video"),
        "captions": by_kind.get("captions"),
        "thumbnail": by_kind.get("thumbnail"),
        "script": script,
        "jaeger": svc.api.jaeger_url,
    }


def _new_job_page(
    request: Request, *, error: str | None = None, form: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "new_job.html",
        status_code=status_code,
        error=error,
        form=form or {"format": "short", "topic": "", "length_seconds": "", "count": "1"},
        formats=FORMATS,
        aspects=ASPECT_RATIOS,
        limits={f.value: MAX_LENGTH_SECONDS[f] for f in Format},
        max_topic=MAX_TOPIC_CHARS,
    )


def _format(value: str) -> Format:
    try:
        return Format(value)
    except ValueError:
        raise InvalidInputError(f"format {value!r} is not one of {', '.join(FORMATS)}") from None


def _whole(value: str, what: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInputError(f"{what} {value[:40]!r} is not a whole number")
    number = int(text)
    if what == "count" and not 1 <= number <= 1000:
        raise InvalidInputError("count must be between 1 and 1000")
    return number


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _back_to(request: Request, default: str) -> str:
    """The page the form was on (path and query only), so a bulk action keeps the filters."""
    referer = urlsplit(request.headers.get("referer", ""))
    if not referer.path.startswith("/"):
        return default
    return referer.path + (f"?{referer.query}" if referer.query else "")


def _local(target: str) -> str:
    """Only redirect within this site (never to another host after login)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
