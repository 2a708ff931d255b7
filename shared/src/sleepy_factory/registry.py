"""The worker registry: each role process says who it is and heartbeats, for `sf workers` and
`sf status`. An operator's view only; leases stay the rule of truth for who owns a stage."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

import psycopg
from psycopg_pool import PoolTimeout

from sleepy_factory import __version__
from sleepy_factory.queue.records import Connection
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, OutageTracker, Pool
from sleepy_factory.supervision import Supervisor

log = logging.getLogger(__name__)

BEAT_SECONDS = 5.0
# A process is alive while its last beat is younger than this (three missed beats).
ALIVE_WITHIN_SECONDS = 3 * BEAT_SECONDS
# How long stopping waits for a beat in progress.
STOP_SECONDS = 5.0

REGISTER = """
INSERT INTO workers (id, role, stage, host, pid, version)
VALUES (%(id)s, %(role)s, %(stage)s, %(host)s, %(pid)s, %(version)s)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL
"""
BEAT = "UPDATE workers SET heartbeat_at = now() WHERE id = %(id)s"
STOPPED = "UPDATE workers SET stopped_at = now(), heartbeat_at = now() WHERE id = %(id)s"
LIST_WORKERS = """
SELECT id, role, stage, host, pid, version, started_at, heartbeat_at, stopped_at,
       stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => %(alive_within)s) AS alive
FROM workers
WHERE stopped_at IS NULL OR stopped_at > now() - make_interval(secs => %(keep_stopped)s)
ORDER BY role, stage NULLS FIRST, started_at
"""
# Stopped or long-silent entries older than a day are forgotten.
FORGET_OLD = """
DELETE FROM workers
WHERE heartbeat_at < now() - interval '1 day'
"""


def process_id(role: str) -> str:
    """A registry id for a role process: host, pid and a random suffix (pids repeat across hosts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class WorkerEntry:
    id: str
    role: str
    stage: str | None
    host: str
    pid: int
    version: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    stopped_at: dt.datetime | None
    alive: bool


def list_workers(conn: Connection, *, keep_stopped_seconds: float = 3600) -> list[WorkerEntry]:
    """Running processes, and those stopped within the last `keep_stopped_seconds`."""
    rows = conn.execute(
        LIST_WORKERS, {"alive_within": ALIVE_WITHIN_SECONDS, "keep_stopped": keep_stopped_seconds}
    ).fetchall()
    return [WorkerEntry(*row) for row in rows]


class Registration:
    """Registers one process, heartbeats it from a supervised thread until `stop`, and marks it stopped."""

    def __init__(
        self, pool: Pool, supervisor: Supervisor, *, id: str, role: str, stage: str | None = None
    ) -> None:
        self._pool = pool
        self._supervisor = supervisor
        self._params = {
            "id": id,
            "role": role,
            "stage": stage,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "version": __version__,
        }
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._statement = REGISTER

    def start(self) -> Registration:
        self._thread = self._supervisor.start(self._run, name=f"registry-{self._params['role']}")
        return self

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)
            if self._thread.is_alive():
                log.warning("registry thread still busy after %.0fs; not waiting for it", STOP_SECONDS)
        if self._supervisor.failed.is_set():
            return  # going down on an error: the entry ages out as not alive
        try:
            with self._pool.connection() as conn:
                conn.execute(STOPPED, {"id": self._params["id"]})
        except psycopg.Error as exc:  # an outage, or a pool closed early: nothing depends on it
            log.warning("could not mark this process stopped in the registry: %s", exc)
        except PoolTimeout:
            pass  # the entry ages out as not alive

    def _run(self) -> None:
        outage = OutageTracker(f"registry {self._params['role']}")
        while True:
            try:
                self._beat()
                outage.succeeded()
            except TRANSIENT_DB_ERRORS as exc:
                outage.failed(exc)
                self._statement = REGISTER  # the row may be gone if the database was restored
            if self._done.wait(BEAT_SECONDS):
                return

    def _beat(self) -> None:
        with self._pool.connection() as conn:
            conn.execute(self._statement, self._params)
            if self._statement is REGISTER:
                conn.execute(FORGET_OLD)
        self._statement = BEAT
