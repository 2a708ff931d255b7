"""`sf dev`: every role in one process, on the embedded Postgres unless DATABASE_URL is set."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial

from sleepy_factory.config import Settings
from sleepy_factory.db import wait_for_database
from sleepy_factory.embedded import forget_url, start_embedded
from sleepy_factory.migrate import upgrade
from sleepy_factory.pipeline import ALL_STAGES
from sleepy_factory.urls import masked

from sf_cli.roles import api_server, orchestrator_loop, recovery_loop, worker_loop

log = logging.getLogger(__name__)


def run_dev(settings: Settings, stop: threading.Event, *, concurrency: int) -> None:
    """Start (or reuse) the database, migrate it, run all roles until `stop` is set."""
    embedded = settings.database_url is None
    url = start_embedded(settings.data_dir) if embedded else settings.database_url
    assert url is not None
    settings = settings.model_copy(update={"database_url": url})
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
    threads = [threading.Thread(target=_guarded(name, target, stop), name=name) for name, target in roles]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        if embedded:
            forget_url(settings.data_dir)


def _guarded(name: str, target: Callable[[], None], stop: threading.Event) -> Callable[[], None]:
    """If one role dies, stop the others too: a half-running dev factory only confuses."""

    def run() -> None:
        try:
            target()
        except BaseException:
            log.exception("%s stopped unexpectedly; stopping sf dev", name)
            stop.set()
            raise

    return run
