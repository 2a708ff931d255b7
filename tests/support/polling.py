"""Waiting for a condition with a deadline: the only way tests synchronise with other processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    interval: float = 0.05,
    *,
    what: str = "",
    describe: Callable[[], str] | None = None,
) -> T:
    """Call `predicate` until it returns something truthy, and return that.

    On timeout raise AssertionError naming `what`, the last value seen and, when given,
    `describe()` (for example the rows involved and the tail of each child's log).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    label = what or getattr(predicate, "__name__", repr(predicate))
    details = f"\n{describe()}" if describe is not None else ""
    raise AssertionError(
        f"timed out after {timeout:.1f}s waiting for {label} (last value: {value!r}){details}"
    )
