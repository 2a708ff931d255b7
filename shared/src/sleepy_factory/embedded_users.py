"""Which processes use an embedded server: the last one to leave stops it.

Each user is recorded as (pid, process start time), and only users still alive count. So a process
that was killed (SIGKILL, a crash, a power cut) never leaves a record that keeps the server running
after the next clean exit, even once its pid has been reused by an unrelated process.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

USERS_FILE = "embedded-users.json"
LOCK_FILE = "embedded.lock"


@dataclass(frozen=True, slots=True)
class User:
    pid: int
    started: float  # psutil's create_time: tells a live process from a later one with its pid

    def alive(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            return process.create_time() == self.started and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False


def me() -> User:
    return User(os.getpid(), psutil.Process().create_time())


@contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Serialise starting, joining, leaving and stopping among every process of data_dir.

    flock: the kernel releases it when its holder dies, so a killed process cannot wedge it.
    """
    with (data_dir / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def join(data_dir: Path) -> None:
    """Record this process as a user (call under `locked`)."""
    _write(data_dir, [*(u for u in live_users(data_dir) if u != me()), me()])


def leave(data_dir: Path) -> list[User]:
    """Forget this process (call under `locked`); return the users still alive."""
    remaining = [u for u in live_users(data_dir) if u != me()]
    _write(data_dir, remaining)
    return remaining


def live_users(data_dir: Path) -> list[User]:
    try:
        records = json.loads((data_dir / USERS_FILE).read_text())
    except FileNotFoundError:
        return []
    except ValueError:
        records = []  # torn by a crash mid-write on an old file system: nobody we can trust is in it
    users = [User(int(r["pid"]), float(r["started"])) for r in records]
    return [u for u in users if u.alive()]


def _write(data_dir: Path, users: list[User]) -> None:
    path = data_dir / USERS_FILE
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(json.dumps([asdict(u) for u in users]))
    os.replace(staging, path)
