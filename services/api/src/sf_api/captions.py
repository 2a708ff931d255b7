"""SubRip (.srt) captions as WebVTT, which is what an HTML5 <track> reads."""

from __future__ import annotations

import re

_TIMING = re.compile(r"^(\d{1,2}:\d{2}:\d{2}),(\d{3})\s*-->\s*(\d{1,2}:\d{2}:\d{2}),(\d{3})(.*)$")


def srt_to_vtt(srt: str) -> str:
    """The same cues in WebVTT: a header, and a dot instead of a comma before the milliseconds."""
    lines = ["WEBVTT", ""]
    for line in srt.lstrip("\ufeff").replace("\r\n", "\n").split("\n"):
        match = _TIMING.match(line.strip())
        if match:
            start, start_ms, end, end_ms, rest = match.groups()
            lines.append(f"{start}.{start_ms} --> {end}.{end_ms}{rest}")
        else:
            lines.append(line)
    return "\n".join(lines).rstrip("\n") + "\n"
