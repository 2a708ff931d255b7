"""Debian's `pgbouncer` in transaction pooling mode, in front of the test session's server.

A real PgBouncer, started as a child process on a free local port with its own pgbouncer.ini and
userlist in a private directory. Its pools are kept small (a few server sessions per database)
so that every role's transactions really do hop between server sessions: whatever relies on
session state fails here instead of in production. No `ignore_startup_parameters`: a client
that sends startup options is refused, loudly.

PgBouncer will not run as root; as root (CI) it runs as the embedded server's user, which can
also reach that server's private socket directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sleepy_factory.embedded_pg import SERVER_USER
from sleepy_factory.session_limits import SessionLimits

from tests.support.polling import wait_until

REQUIRE_VARIABLE = "SF_REQUIRE_PGBOUNCER"  # CI sets it: a missing pgbouncer fails instead of skipping
SERVER_SESSIONS_PER_DATABASE = 4
# Lines a pooler-unsafe client causes, in PgBouncer's log or a role's.
SESSION_STATE_ERRORS = (
    "prepared statement",
    "unsupported startup parameter",
    "does not exist",
    "Traceback",
)


def pgbouncer_binary() -> str:
    """Where `pgbouncer` is; skip (or, under SF_REQUIRE_PGBOUNCER=1, fail) when it is not installed."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        reason = "pgbouncer is not installed (Debian: apt-get install pgbouncer)"
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(f"{REQUIRE_VARIABLE}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return found


@dataclass
class PgBouncer:
    process: subprocess.Popen[bytes]
    workdir: Path
    port: int
    user: str
    password: str

    def url(self, database: str) -> str:
        """A libpq URL for `database` through the pooler."""
        secret = f":{quote(self.password, safe='')}" if self.password else ""
        return f"postgresql://{quote(self.user, safe='')}{secret}@127.0.0.1:{self.port}/{quote(database)}"

    def log(self) -> str:
        path = self.workdir / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # PgBouncer's "shut down now"
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_pgbouncer(server_url: str, workdir: Path) -> PgBouncer:
    """Start PgBouncer (transaction mode) for every database of the server at `server_url`."""
    binary = pgbouncer_binary()
    server = conninfo_to_dict(server_url)
    user = str(server.get("user") or "postgres")
    password = str(server.get("password") or "")
    port = _free_port()
    run_as = SERVER_USER if os.geteuid() == 0 else None
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "userlist.txt").write_text(f'"{user}" "{password}"\n')
    (workdir / "pgbouncer.ini").write_text(
        _config(
            workdir,
            port=port,
            host=str(server.get("host") or "localhost"),
            server_port=int(server.get("port") or 5432),
            user=user,
        )
    )
    if run_as is not None:
        for path in (workdir, *workdir.iterdir()):
            shutil.chown(path, run_as, run_as)
    output = (workdir / "stdout.log").open("wb")
    process = subprocess.Popen(
        [binary, str(workdir / "pgbouncer.ini")],
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        user=run_as,
    )
    output.close()
    bouncer = PgBouncer(process, workdir, port, user, password)

    def accepts() -> bool:
        if process.poll() is not None:
            log = (workdir / "stdout.log").read_text(errors="replace") + bouncer.log()
            raise AssertionError(f"pgbouncer exited ({process.returncode}):\n{log}")
        try:
            with psycopg.connect(bouncer.url("postgres"), connect_timeout=2, prepare_threshold=None) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    try:
        wait_until(accepts, 30, what="pgbouncer accepting connections")
    except BaseException:
        bouncer.stop()
        raise
    return bouncer


def set_role_limits(direct_db_url: str, limits: SessionLimits) -> None:
    """What an operator does behind a transaction pooler: the roles' server-side limits on the
    database role (here for this database only, as the test server is shared). Server sessions
    opened afterwards take them."""
    database = str(conninfo_to_dict(direct_db_url)["dbname"])
    with psycopg.connect(direct_db_url, autocommit=True) as admin:
        for name, milliseconds in limits.server_milliseconds():
            admin.execute(
                sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} SET {} = {}").format(
                    sql.Identifier(database), sql.SQL(name), sql.Literal(f"{milliseconds}ms")
                )
            )


def _config(workdir: Path, *, port: int, host: str, server_port: int, user: str) -> str:
    # `*`: every database of the server, so each test's fresh database is reachable as it is made.
    return f"""\
[databases]
* = host={host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / "userlist.txt"}
admin_users = {user}
pool_mode = transaction
default_pool_size = {SERVER_SESSIONS_PER_DATABASE}
max_client_conn = 2000
logfile = {workdir / "pgbouncer.log"}
pidfile = {workdir / "pgbouncer.pid"}
log_connections = 0
log_disconnections = 0
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
