"""`sf api`: the dashboard and HTTP API role."""

from __future__ import annotations

from typing import Annotated

import typer

from sf_cli.app import app


@app.command()
def api(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (SF_API_HOST, default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65_535, help="Port (SF_API_PORT, default 8080).")
    ] = None,
) -> None:
    """Serve the dashboard and the HTTP API until SIGTERM/Ctrl+C. Without SF_API_TOKEN only loopback."""
    import threading

    from sleepy_factory.config import load_settings
    from sleepy_factory.logs import configure_logging
    from sleepy_factory.runtime import stop_on_signals

    from sf_cli.roles import api_server

    settings = load_settings()
    configure_logging(settings.log_format)
    stop = threading.Event()
    stop_on_signals(stop)
    api_server(settings, stop, host=host, port=port)
