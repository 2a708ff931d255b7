"""Live stage changes for every browser through ONE listening connection per API process.

A thread LISTENs on the stage-change channel; on each notification (or every POLL_SECONDS, in case
one was lost) it reads the changes after its cursor through the pool and hands them to every
subscriber's queue on the event loop. A hundred open pages cost one LISTEN connection and one
query per burst of changes, not one per page.

LISTEN needs a server session of its own for as long as it listens, which a transaction pooler
cannot give: the feed listens where the roles do (pooling.listen_url: SF_LISTEN_DATABASE_URL, or
the database itself when it is not pooled) and, behind a pooler without one, reads the changes
every POLL_SECONDS instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sleepy_factory.db import connect
from sleepy_factory.errors import DatabaseUnavailableError
from sleepy_factory.health import HealthBeacon
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, OutageTracker, Pool
from sleepy_factory.stage_changes import (
    REORDER_WINDOW,
    STAGE_CHANGES_CHANNEL,
    StageChange,
    changes_after,
    latest_change,
)
from sleepy_factory.supervision import Supervisor

log = logging.getLogger(__name__)
Listening = psycopg.Connection[tuple[object, ...]]

POLL_SECONDS = 2.0
SUBSCRIBER_BACKLOG = 2000
LISTENER_NAME = "sf-api listener"
READ_BATCH = 1000
_LISTEN_ERRORS: tuple[type[BaseException], ...] = (
    *TRANSIENT_DB_ERRORS,
    psycopg.InterfaceError,
    DatabaseUnavailableError,
)


@dataclass(eq=False)
class Subscription:
    """One client's queue. `lagging` is set when it fell SUBSCRIBER_BACKLOG changes behind."""

    queue: asyncio.Queue[StageChange] = field(default_factory=lambda: asyncio.Queue(SUBSCRIBER_BACKLOG))
    lagging: bool = False


class StageFeed:
    def __init__(
        self, listen_url: str | None, pool: Pool, supervisor: Supervisor, health: HealthBeacon | None = None
    ) -> None:
        self._url = listen_url  # None: no LISTEN, read every POLL_SECONDS
        self._pool = pool
        self._supervisor = supervisor
        self._health = health
        self._stop = threading.Event()
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self.cursor = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = self._supervisor.start(self._run, name="stage-feed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        with self._lock:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def _run(self) -> None:
        outage = OutageTracker("stage feed")
        if self._url is None:
            log.info(
                "stage feed: no LISTEN behind a transaction pooler without SF_LISTEN_DATABASE_URL: "
                "reading changes every %gs",
                POLL_SECONDS,
            )
        while not self._stop.is_set():
            try:
                if self._url is None:
                    self._follow(None, outage)
                else:
                    with connect(self._url) as conn:
                        conn.execute("SELECT set_config('application_name', %s, false)", [LISTENER_NAME])
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(STAGE_CHANGES_CHANNEL)))
                        self._follow(conn, outage)
            except _LISTEN_ERRORS as exc:
                self._stop.wait(outage.failed(exc))

    def _follow(self, listening: Listening | None, outage: OutageTracker) -> None:
        """Read changes on every notification on `listening`, and every POLL_SECONDS regardless."""
        if self.cursor == 0:
            with self._pool.connection() as query:
                self.cursor = latest_change(query)
        self._read_changes()  # whatever changed while we were not listening
        outage.succeeded()
        while not self._stop.is_set():
            if listening is None:
                self._stop.wait(POLL_SECONDS)
            elif any(True for _ in listening.notifies(timeout=POLL_SECONDS, stop_after=1)):
                self._stop.wait(0.05)  # let a burst of commits land: one read for all of them
            self._read_changes()
            if self._health is not None:  # `sf health`: this role still reaches the database
                self._health.beat()

    def _read_changes(self) -> None:
        after = max(0, self.cursor - REORDER_WINDOW)
        with self._pool.connection() as conn:
            while True:
                changes = changes_after(conn, after, limit=READ_BATCH)
                fresh = [c for c in changes if c.seq not in self._seen]
                for change in fresh:
                    self._seen[change.seq] = None
                    self.cursor = max(self.cursor, change.seq)
                while self._seen and next(iter(self._seen)) < self.cursor - REORDER_WINDOW:
                    self._seen.popitem(last=False)
                if fresh:
                    self._publish(fresh)
                if len(changes) < READ_BATCH:
                    return
                after = changes[-1].seq

    def _publish(self, changes: list[StageChange]) -> None:
        if self._loop is None:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        if subscribers:
            self._loop.call_soon_threadsafe(_deliver, subscribers, changes)


def _deliver(subscribers: list[Subscription], changes: list[StageChange]) -> None:
    for subscription in subscribers:
        for change in changes:
            try:
                subscription.queue.put_nowait(change)
            except asyncio.QueueFull:
                subscription.lagging = True
                break
