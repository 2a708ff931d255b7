"""The ASGI application: JSON API, pages, static files and an offline docs page."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sleepy_factory import __version__
from sleepy_factory.artifacts import LocalStore
from sleepy_factory.config import Settings, artifact_root
from sleepy_factory.db import resolve_url
from sleepy_factory.errors import (
    DatabaseUnavailableError,
    InvalidInputError,
    JobNotFoundError,
    SleepyFactoryError,
)
from sleepy_factory.health import HealthBeacon
from sleepy_factory.pooling import listen_url
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, Pool, open_role_pool
from sleepy_factory.supervision import Supervisor
from starlette.exceptions import HTTPException

from sf_api import api_routes, docs_page, page_routes
from sf_api.config import ApiSettings
from sf_api.feed import StageFeed
from sf_api.security import Guard
from sf_api.services import Services

STATIC = Path(__file__).parent / "static"
POOL_SIZE = 10
# Pages run only our own script files: an injected <script> or inline handler never runs.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def create_app(
    settings: Settings,
    api: ApiSettings,
    pool: Pool,
    stopping: threading.Event | None = None,
    supervisor: Supervisor | None = None,
) -> FastAPI:
    """The application on an open pool (see `open_api_pool`); `stopping`, once set, ends every
    open event stream (server shutdown). The stage feed's thread runs under `supervisor`: if it
    dies, the role stops (see supervision.py)."""
    stopping = stopping or threading.Event()
    health = HealthBeacon(settings.health_file)
    supervisor = supervisor or Supervisor(stopping, health)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        feed = StageFeed(listen_url(settings, resolve_url(settings)), pool, supervisor, health)
        feed.start(asyncio.get_running_loop())
        app.state.services = Services(
            settings=settings,
            api=api,
            pool=pool,
            feed=feed,
            store=LocalStore(artifact_root(settings)),
            guard=Guard(api.token()),
            stopping=stopping,
        )
        try:
            yield
        finally:
            await asyncio.to_thread(feed.stop)

    app = FastAPI(
        title="Sleepy Factory",
        version=__version__,
        summary="Jobs, stages, artifacts and live stage changes of a Sleepy Factory.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.include_router(api_routes.router)
    app.include_router(page_routes.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        schema = app.openapi()
        return page_routes.render(
            request, "docs.html", info=schema["info"], operations=docs_page.operations(schema)
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> JSONResponse:
        svc: Services = request.app.state.services
        with svc.pool.connection() as conn:
            conn.execute("SELECT 1")
        return JSONResponse({"ok": True})

    app.exception_handler(SleepyFactoryError)(_core_error)
    app.exception_handler(HTTPException)(_http_error)
    for error in TRANSIENT_DB_ERRORS:
        if issubclass(error, Exception):
            app.exception_handler(error)(_database_away)
    app.middleware("http")(_security_headers)
    return app


def open_api_pool(settings: Settings, stop: threading.Event | None = None) -> Pool:
    """Wait for the database and check its schema before serving: a bad setting or an old schema
    is one clear error at start-up, not a failed request later."""
    return open_role_pool(settings, name="api", size=POOL_SIZE, stop=stop)


async def _core_error(request: Request, exc: Exception) -> Response:
    status = 400
    if isinstance(exc, JobNotFoundError):
        status = 404
    elif isinstance(exc, DatabaseUnavailableError):
        status = 503
    elif not isinstance(exc, InvalidInputError):
        status = 409
    return _error(request, status, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 401 and not request.url.path.startswith("/api/"):
        return page_routes.to_login(request)
    return _error(request, exc.status_code, str(exc.detail))


async def _database_away(request: Request, exc: Exception) -> Response:
    return _error(request, 503, "the database is unavailable; try again shortly")


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return page_routes.error_page(request, status, message)


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    return response
