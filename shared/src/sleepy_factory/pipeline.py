"""Which stages a job has and when each may start: pure rules, no I/O.

The orchestrator's SQL applies exactly `promotable()`; a test checks the two agree on random states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum


class Status(StrEnum):
    NEW = "NEW"
    READY = "READY"
    RUNNING = "RUNNING"
    DONE = "DONE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"  # `sf cancel`: never claimed again; a running attempt loses its lease


class Format(StrEnum):
    SHORT = "short"
    LONGFORM = "longform"
    SLEEPY = "sleepy"


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
FORMATS: tuple[str, ...] = tuple(f.value for f in Format)
ALL_STAGES: tuple[str, ...] = ("audio", "visuals", "render")

# Every format runs the same three stages today; keeping the list per format lets them diverge.
_STAGES_BY_FORMAT: Mapping[Format, tuple[str, ...]] = {f: ALL_STAGES for f in Format}

# Upper bound per format for `--length-seconds`; shorts must stay under a minute.
MAX_LENGTH_SECONDS: Mapping[Format, int] = {
    Format.SHORT: 59,
    Format.LONGFORM: 4 * 3600,
    Format.SLEEPY: 10 * 3600,
}
# Lower bound per format: below it a video is a title card and a sentence at most, not the format.
MIN_LENGTH_SECONDS: Mapping[Format, int] = {
    Format.SHORT: 10,
    Format.LONGFORM: 60,
    Format.SLEEPY: 60,
}
DEFAULT_LENGTH_SECONDS: Mapping[Format, int] = {
    Format.SHORT: 45,
    Format.LONGFORM: 17 * 60,
    Format.SLEEPY: 3600,
}


def stages_for(fmt: Format) -> tuple[str, ...]:
    """The ordered stages a job of this format goes through."""
    return _STAGES_BY_FORMAT[fmt]


def promotable(statuses: Sequence[Status]) -> list[int]:
    """Positions of the stages that may go NEW -> READY now.

    The first stage may start at once; every later stage waits for its predecessor to be DONE.
    """
    return [
        position
        for position, status in enumerate(statuses)
        if status is Status.NEW and (position == 0 or statuses[position - 1] is Status.DONE)
    ]


def is_finished(statuses: Sequence[Status]) -> bool:
    """A job is finished when every stage is DONE."""
    return all(s is Status.DONE for s in statuses)
