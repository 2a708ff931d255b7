"""CPU seconds of the Postgres server processes, when the server runs on this machine."""

from __future__ import annotations

import psutil
from sleepy_factory.queue import Connection


def server_process(conn: Connection) -> psutil.Process | None:
    """The postmaster, when the server runs on this machine (its CPU is part of the cost)."""
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    try:
        backend = psutil.Process(int(row[0])) if row else None
        return backend.parent() if backend else None
    except psutil.Error:
        return None  # a server elsewhere: its CPU is not ours to read


def cpu_seconds(server: psutil.Process | None) -> float | None:
    """User + system CPU of the postmaster and its live children (backends, autovacuum, WAL writer)."""
    if server is None:
        return None
    try:
        processes = [server, *server.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue  # a backend that just ended
        except psutil.Error:
            return None
        total += times.user + times.system
    return total
