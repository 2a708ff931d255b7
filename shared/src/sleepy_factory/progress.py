"""How far a running stage is: what a handler reports, and how people read the time left."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

NOTE_WIDTH = 200  # a phrase, not a log: longer notes are cut


@dataclass(frozen=True)
class Progress:
    fraction: float  # 0..1
    note: str

    @classmethod
    def of(cls, fraction: float, note: str = "") -> Progress:
        """Clamped to 0..1 (a handler's arithmetic may overshoot) and a note of one short line."""
        if math.isnan(fraction):  # no information
            fraction = 0.0
        flat = " ".join(note.split())
        return cls(min(1.0, max(0.0, float(fraction))), flat[:NOTE_WIDTH])


def short_duration(delta: dt.timedelta) -> str:
    """`45s`, `7m05s`, `2h03m`: how people read a time left."""
    seconds = int(delta.total_seconds() + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
