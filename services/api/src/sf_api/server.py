"""Running the API under uvicorn: alone (`sf api`, the container) or beside the other roles (`sf dev`)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI
from sleepy_factory.config import Settings
from sleepy_factory.errors import SleepyFactoryError
from sleepy_factory.health import HealthBeacon
from sleepy_factory.supervision import Supervisor

from sf_api.app import create_app, open_api_pool
from sf_api.config import ApiSettings, check_bind

log = logging.getLogger(__name__)

# Open event streams end when the server stops; give in-flight requests this long.
GRACEFUL_SECONDS = 5


def free_port(host: str, preferred: int) -> int:
    """`preferred` when nothing listens there, else a port the system picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            chosen: int = probe.getsockname()[1]
            return chosen
    raise OSError(f"no free port on {host}")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the caller's `stop` event is the one way to stop,
    whether SIGTERM reached `sf api` or `sf dev` is stopping all its roles."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build_server(app: FastAPI, api: ApiSettings, *, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=api.api_host,
        port=port,
        log_config=None,  # keep the role's logging setup
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        proxy_headers=False,
    )
    return _Server(config)


def url_of(api: ApiSettings, port: int) -> str:
    host = f"[{api.api_host}]" if ":" in api.api_host else api.api_host
    return f"http://{host}:{port}/"


def check_port(host: str, port: int) -> None:
    """One clear error when the port is taken, before anything else starts."""
    if port and free_port(host, port) != port:
        raise SleepyFactoryError(
            f"port {port} on {host} is in use: choose another with --port or SF_API_PORT"
        )


def serve(settings: Settings, api: ApiSettings, stop: threading.Event, *, port: int) -> None:
    """Serve until `stop` is set (SIGTERM/Ctrl+C through the CLI's handlers)."""
    check_bind(api)
    check_port(api.api_host, port)
    pool = open_api_pool(settings, stop)
    supervisor = Supervisor(stop, HealthBeacon(settings.health_file))
    try:
        server = build_server(create_app(settings, api, pool, stop, supervisor), api, port=port)

        def watch() -> None:  # open event streams see `stop` too and end, so shutdown is quick
            stop.wait()
            server.should_exit = True

        threading.Thread(target=watch, name="api-stop", daemon=True).start()
        log.info("dashboard and API at %s", url_of(api, port))
        server.run()
    finally:
        pool.close()
    supervisor.check()  # a dead stage feed ends the role with exit 70, not 0
