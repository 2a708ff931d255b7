"""Running the API under uvicorn: alone (`sf api`, the container) or beside the other roles (`sf dev`)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator

import uvicorn
from sleepy_factory.config import Settings

from sf_api.app import create_app
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


def build_server(settings: Settings, api: ApiSettings, *, port: int, stop: threading.Event) -> uvicorn.Server:
    check_bind(api)
    config = uvicorn.Config(
        create_app(settings, api, stop),
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


def serve(settings: Settings, api: ApiSettings, stop: threading.Event, *, port: int) -> None:
    """Serve until `stop` is set (SIGTERM/Ctrl+C through the CLI's handlers)."""
    server = build_server(settings, api, port=port, stop=stop)

    def watch() -> None:  # open event streams see `stop` too and end, so shutdown is quick
        stop.wait()
        server.should_exit = True

    threading.Thread(target=watch, name="api-stop", daemon=True).start()
    log.info("dashboard and API at %s", url_of(api, port))
    server.run()
