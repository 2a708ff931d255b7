"""`sf` role processes started by a test: each logs to its own file and never outlives the test."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from tests.support.polling import wait_until

SF = Path(sys.executable).parent / "sf"
T = TypeVar("T")


@dataclass
class Child:
    name: str
    args: tuple[str, ...]
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]
    stopping: bool = field(default=False)  # the test signalled it to end: exiting is expected

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self, marker: str) -> list[str]:
        return [line for line in self.log().splitlines() if marker in line]

    def tail(self, lines: int = 20) -> str:
        text = "\n".join(f"    {line}" for line in self.log().splitlines()[-lines:])
        state = "running" if self.process.poll() is None else f"exit {self.process.returncode}"
        return f"--- {self.name} (pid {self.pid}, {state}): sf {' '.join(self.args)}\n{text}"

    def send(self, sig: signal.Signals) -> None:
        if sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
            self.stopping = True
        self.process.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        """The exit code; AssertionError with the log tail if it is still running after `timeout`."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} still running {timeout:.1f}s after being told to stop\n{self.tail()}"
            ) from None


class Children:
    """Starts `sf` commands against the test's database; `close()` ends whatever is left."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self._env = dict(env)
        self._log_dir = log_dir
        self._children: list[Child] = []

    def start(
        self,
        name: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        program: Sequence[str] = (str(SF),),
    ) -> Child:
        """Run `sf ARGS` (or `program ARGS`, e.g. a script that patches something, then runs sf)."""
        log_path = self._log_dir / f"{name}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [*program, *args],
            env={**self._env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        child = Child(name, tuple(args), process, log_path, log_file)
        self._children.append(child)
        return child

    def __iter__(self) -> Iterator[Child]:
        return iter(list(self._children))

    def describe(self) -> str:
        return "\n".join(child.tail() for child in self._children)

    def check_alive(self) -> None:
        """Fail at once, with its log, when a child died that the test did not stop."""
        for child in self._children:
            if not child.stopping and child.process.poll() is not None:
                raise AssertionError(
                    f"{child.name} exited unexpectedly with {child.process.returncode}\n{child.tail(40)}"
                )

    def wait_until(
        self,
        predicate: Callable[[], T | None],
        timeout: float,
        *,
        what: str,
        describe: Callable[[], str] | None = None,
        interval: float = 0.05,
    ) -> T:
        """`polling.wait_until`, failing early if a child dies and showing every child's log tail."""

        def alive_and() -> T | None:
            self.check_alive()
            return predicate()

        def details() -> str:
            extra = f"{describe()}\n" if describe is not None else ""
            return extra + self.describe()

        return wait_until(alive_and, timeout, interval, what=what, describe=details)

    def wait_for_log(self, child: Child, marker: str, timeout: float) -> str:
        """The first log line of `child` containing `marker`."""
        lines = self.wait_until(
            lambda: child.log_lines(marker), timeout, what=f"{child.name} to log {marker!r}"
        )
        return lines[0]

    def close(self) -> None:
        """SIGTERM everything still running (resuming any stopped one), SIGKILL the stubborn."""
        running = [child for child in self._children if child.process.poll() is None]
        for child in running:
            child.process.send_signal(signal.SIGCONT)
            child.process.send_signal(signal.SIGTERM)
        for child in running:
            try:
                child.process.wait(10)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        for child in self._children:
            child.log_file.close()
