"""Jinja2 filters: sizes, durations and times as people read them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

NONE = "\u2013"  # an en dash for "no value"


def size(value: int) -> str:
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"


def seconds(value: float | None) -> str:
    if value is None:
        return NONE
    whole = int(value)
    if whole < 60:
        return f"{value:.1f} s" if value < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def when(value: dt.datetime | None) -> str:
    return NONE if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def took(start: dt.datetime | None, end: dt.datetime | None) -> str:
    if start is None or end is None:
        return NONE
    return seconds((end - start).total_seconds())


def percent(fraction: float) -> str:
    return f"{fraction:.0%}"


def status_class(status: str) -> str:
    return f"st-{status.lower()}"


FILTERS: dict[str, Callable[..., Any]] = {
    "size": size,
    "seconds": seconds,
    "when": when,
    "status_class": status_class,
    "percent": percent,
}
TEMPLATE_GLOBALS: dict[str, Callable[..., Any]] = {"took": took}
