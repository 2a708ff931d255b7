"""`sf status --watch` on a real terminal, as an operator sees it: it draws the stage table, redraws
it as the numbers change, and Ctrl+C ends it with exit 0 and no traceback.

A pseudo-terminal stands in for tmux so the check runs wherever Python does."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sleepy_factory.pipeline import ALL_STAGES, STATUSES

from tests.support.children import SF
from tests.support.polling import wait_until
from tests.support.rows import insert_jobs, set_stage

pytestmark = pytest.mark.e2e

ROWS, COLS = 40, 120
COUNTS = "SELECT stage, status, count(*) FROM job_stages GROUP BY stage, status"
# CSI sequences (cursor moves, erase, colours) and OSC strings (window titles).
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]")
STAGE_ROW = re.compile(r"^\s*(" + "|".join(ALL_STAGES) + r")" + r"\s+(\d+)" * len(STATUSES) + r"\b")


class Terminal:
    """`sf` on the slave side of a pseudo-terminal that is its controlling terminal, so the
    terminal's Ctrl+C reaches it as SIGINT exactly as it would from a shell."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.process = subprocess.Popen(
            [str(SF), *args],
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            # Make the pty the new session's controlling terminal (what a shell or tmux does).
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509
        )
        os.close(slave)
        self.output = bytearray()

    def read(self) -> str:
        """Everything written so far (draining what is ready), escape sequences removed."""
        while select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            self.output.extend(chunk)
        return ESCAPES.sub("", self.output.decode(errors="replace"))

    def latest_rows(self) -> dict[str, list[int]]:
        """The numbers of each stage row as last drawn."""
        rows: dict[str, list[int]] = {}
        for line in re.split(r"\r\n|\r|\n", self.read()):
            match = STAGE_ROW.match(line)
            if match:
                rows[match[1]] = [int(n) for n in match.groups()[1:]]
        return rows

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


@pytest.fixture
def terminal_env(sf_env: dict[str, str]) -> dict[str, str]:
    return {**sf_env, "TERM": "xterm", "COLUMNS": str(COLS), "LINES": str(ROWS)}


@pytest.fixture
def watching(terminal_env: dict[str, str]) -> Iterator[Terminal]:
    terminal = Terminal(["status", "--watch", "--interval", "0.2"], terminal_env)
    try:
        yield terminal
    finally:
        terminal.close()


def _sql_rows(conn: psycopg.Connection[Any]) -> dict[str, list[int]]:
    counts = {stage: dict.fromkeys(STATUSES, 0) for stage in ALL_STAGES}
    for stage, status, count in conn.execute(COUNTS).fetchall():
        counts[stage][status] = count
    return {stage: list(by_status.values()) for stage, by_status in counts.items()}


def _screen_shows(terminal: Terminal, expected: dict[str, list[int]], what: str) -> None:
    wait_until(
        lambda: terminal.latest_rows() == expected,
        10,
        what=what,
        describe=lambda: f"expected {expected}, screen so far:\n{terminal.read()[-3000:]}",
    )


def test_status_watch_redraws_as_numbers_change_and_ctrl_c_exits_0(
    conn: psycopg.Connection[Any], watching: Terminal
) -> None:
    first = insert_jobs(conn, 3)
    set_stage(conn, first[0], "audio", "READY")
    _screen_shows(watching, _sql_rows(conn), "the stage table with the first counts")
    assert "READY" in watching.read()

    more = insert_jobs(conn, 5)
    set_stage(conn, more[0], "audio", "RUNNING", attempt=1)
    set_stage(conn, first[0], "audio", "DONE", attempt=1)
    set_stage(conn, first[0], "visuals", "ERROR", attempt=5, failures=5, last_error="boom")
    after = _sql_rows(conn)
    assert after["audio"][STATUSES.index("NEW")] == 6
    _screen_shows(watching, after, "the table redrawn with the new counts")

    os.write(watching.master, b"\x03")  # Ctrl+C, through the terminal

    code = wait_until(
        lambda: watching.process.poll() is not None and (watching.process.returncode,),
        5,
        what="sf status --watch to exit after Ctrl+C",
        describe=lambda: watching.read()[-2000:],
    )
    screen = watching.read()
    assert code == (0,), screen[-2000:]
    assert "Traceback" not in screen
    assert "sf: error" not in screen


def test_status_watch_ends_cleanly_on_sigint_too(conn: psycopg.Connection[Any], watching: Terminal) -> None:
    insert_jobs(conn, 2)
    _screen_shows(watching, _sql_rows(conn), "the stage table")

    watching.process.send_signal(signal.SIGINT)

    assert watching.process.wait(5) == 0
    assert "Traceback" not in watching.read()
