"""`sf dev`: every role in one process, on the embedded Postgres unless DATABASE_URL is set."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial

from pydantic import SecretStr
from sleepy_factory.config import Settings
from sleepy_factory.db import wait_for_database
from sleepy_factory.embedded import embedded_server
from sleepy_factory.migrate import upgrade
from sleepy_factory.pipeline import ALL_STAGES
from sleepy_factory.urls import masked

from sf_cli.roles import api_server, orchestrator_loop, recovery_loop, worker_loop

log = logging.getLogger(__name__)


def run_dev(settings: Settings, stop: threading.Event, *, concurrency: int) -> None:
    """Start (or reuse) the database, migrate it, run all roles until `stop` is set."""
    with _database(settings) as url:
        _run_roles(
            settings.model_copy(update={"database_url": SecretStr(url)}), stop, concurrency=concurrency
        )


def _database(settings: Settings) -> AbstractContextManager[str]:
    """DATABASE_URL if set; else the embedded server, stopped on the way out if no one else uses it."""
    if settings.database_url is not None:
        return nullcontext(settings.database_url.get_secret_value())
    return embedded_server(settings.data_dir)


def _run_roles(settings: Settings, stop: threading.Event, *, concurrency: int) -> None:
    assert settings.database_url is not None
    url = settings.database_url.get_secret_value()
    # Fail with one clear line (or wait, up to SF_CONNECT_TIMEOUT) before Alembic touches it.
    wait_for_database(url, settings.connect_timeout, stop)
    upgrade(url)
    log.info("sf dev: database %s migrated; starting all roles (Ctrl+C to stop)", masked(url))

    roles: list[tuple[str, Callable[[], None]]] = [
        ("orchestrator", lambda: orchestrator_loop(settings, stop, settings.poll_seconds)),
        ("recovery", lambda: recovery_loop(settings, stop, settings.recovery_poll_seconds)),
    ]
    for stage in ALL_STAGES:
        roles.append((f"worker-{stage}", partial(worker_loop, settings, stop, stage, concurrency)))
    roles.append(("api", partial(api_server, settings, stop, pick_free_port=True)))  # prints its URL
    failures: list[BaseException] = []
    threads = [
        threading.Thread(target=_guarded(name, target, stop, failures), name=name) for name, target in roles
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]  # sf dev exits as the first role that died would have on its own


def _guarded(
    name: str, target: Callable[[], None], stop: threading.Event, failures: list[BaseException]
) -> Callable[[], None]:
    """If one role dies, stop the others too: a half-running dev factory only confuses."""

    def run() -> None:
        try:
            target()
        except BaseException as exc:
            log.exception("%s stopped unexpectedly; stopping sf dev", name)
            failures.append(exc)  # list.append is atomic; the main thread reads it after joining
            stop.set()

    return run
