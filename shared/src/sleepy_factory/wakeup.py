"""LISTEN/NOTIFY wake-ups: idle roles react to new work in milliseconds instead of a poll interval.

Only an optimisation: every role still polls, so a lost notification (listener reconnecting, a
server restart) delays work by at most one poll interval and never loses it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import replace

import psycopg
from psycopg import sql

from sleepy_factory.config import Settings
from sleepy_factory.db import connect, resolve_url
from sleepy_factory.errors import DatabaseUnavailableError
from sleepy_factory.pooling import listen_url
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, OutageTracker
from sleepy_factory.session_limits import SessionLimits
from sleepy_factory.supervision import Supervisor

log = logging.getLogger(__name__)

# Postgres folds identical notifications within one transaction, so a statement that makes many
# stages of one kind READY wakes that stage's workers once.
ORCHESTRATE_CHANNEL = "sf_orchestrate"

_LISTEN_ERRORS: tuple[type[BaseException], ...] = (
    *TRANSIENT_DB_ERRORS,
    psycopg.InterfaceError,
    DatabaseUnavailableError,
)


def ready_channel(stage: str) -> str:
    """The channel a stage's workers listen on; notified when stages of that kind become READY."""
    return f"sf_ready_{stage}"


def cancel_channel(stage: str) -> str:
    """Notified when a job is cancelled, so workers running one of its stages check their leases
    at once instead of at their next heartbeat (up to lease/3 later)."""
    return f"sf_cancel_{stage}"


class Listener:
    """A supervised thread holding one LISTEN connection; a notification on a channel sets that
    channel's event in `wakes`."""

    def __init__(
        self,
        url: str,
        wakes: Mapping[str, threading.Event],
        stop: threading.Event,
        supervisor: Supervisor,
        *,
        limits: SessionLimits | None = None,
    ) -> None:
        self._url = url
        self._limits = limits
        self._wakes = dict(wakes)
        self._channels = list(self._wakes)
        self._stop = stop
        self._supervisor = supervisor

    def start(self) -> Listener:
        self._supervisor.start(self._run, name=f"listen-{'+'.join(self._channels)}")
        return self

    def _run(self) -> None:
        outage = OutageTracker(f"listener {','.join(self._channels)}")
        while not self._stop.is_set():
            try:
                self._listen(outage)
            except _LISTEN_ERRORS as exc:
                self._stop.wait(outage.failed(exc))

    def _listen(self, outage: OutageTracker) -> None:
        with connect(self._url, limits=self._limits) as conn:
            for channel in self._channels:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            outage.succeeded()
            # Anything may have happened while we were not listening: wake every waiter once.
            for wake in self._wakes.values():
                wake.set()
            while not self._stop.is_set():
                for notification in conn.notifies(timeout=0.5):
                    self._wakes[notification.channel].set()


def start_listener(
    settings: Settings,
    wakes: Mapping[str, threading.Event],
    stop: threading.Event,
    supervisor: Supervisor,
) -> Listener | None:
    """A role's listener, started; None when SF_NOTIFY is off or no unpooled server is known.

    LISTEN needs one server session for as long as it listens, which a transaction pooler cannot
    give: behind one, only SF_LISTEN_DATABASE_URL (Postgres itself) is listened on, else the role
    polls every SF_POLL_SECONDS.
    """
    if not settings.notify:
        return None
    url = listen_url(settings, resolve_url(settings))
    if url is None:
        log.info(
            "no LISTEN behind a transaction pooler without SF_LISTEN_DATABASE_URL: polling every %gs",
            settings.poll_seconds,
        )
        return None
    # The listen URL names the server itself, so the limits go in its startup packet as usual.
    limits = replace(SessionLimits.for_role(settings), in_startup=True)
    return Listener(url, wakes, stop, supervisor, limits=limits).start()
