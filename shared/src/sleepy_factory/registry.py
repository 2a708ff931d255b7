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

from sleepy_factory import __version__
from sleepy_factory.queue.records import Connection
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, OutageTracker, Pool

log = logging.getLogger(__name__)

BEAT_SECONDS = 5.0
# A process is alive while its last beat is younger than this (three missed beats).
ALIVE_WITHIN_SECONDS = 3 * BEAT_SECONDS

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
    """Registers one process, heartbeats it from a thread until `stop`, and marks it stopped."""

    def __init__(self, pool: Pool, *, id: str, role: str, stage: str | None = None) -> None:
        self._pool = pool
        self._params = {
            "id": id,
            "role": role,
            "stage": stage,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "version": __version__,
        }
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"registry-{role}", daemon=True)

    def start(self) -> Registration:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        try:
            with self._pool.connection() as conn:
                conn.execute(STOPPED, {"id": self._params["id"]})
        except TRANSIENT_DB_ERRORS:
            pass  # the entry ages out as not alive; nothing else depends on it

    def _run(self) -> None:
        outage = OutageTracker(f"registry {self._params['role']}")
        statement = REGISTER
        while True:
            try:
                with self._pool.connection() as conn:
                    conn.execute(statement, self._params)
                    if statement is REGISTER:
                        conn.execute(FORGET_OLD)
                statement = BEAT
                outage.succeeded()
            except TRANSIENT_DB_ERRORS as exc:
                outage.failed(exc)
                statement = REGISTER  # the row may be gone if the database was restored
            if self._done.wait(BEAT_SECONDS):
                return
