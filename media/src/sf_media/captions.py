"""SubRip captions (captions.srt) from the sentence timings, for upload next to the video.

Long sentences are split into cues of at most two 42-character lines (the common broadcast limit),
each cue's time share proportional to its characters, so captions stay readable on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sf_media.script import Script

LINE_CHARS = 42
LINES_PER_CUE = 2


@dataclass(frozen=True, slots=True)
class Cue:
    start: float
    end: float
    text: str  # one or two lines joined by "\n"


def caption_cues(script: Script) -> list[Cue]:
    cues: list[Cue] = []
    for sentence in script.sentences():
        lines = _wrap(sentence.text)
        groups = ["\n".join(lines[i : i + LINES_PER_CUE]) for i in range(0, len(lines), LINES_PER_CUE)]
        total = sum(len(group) for group in groups)
        start = sentence.start
        for group in groups:
            end = start + (sentence.end - sentence.start) * len(group) / total
            cues.append(Cue(start, end, group))
            start = end
    return cues


def to_srt(cues: list[Cue]) -> str:
    blocks = [
        f"{number}\n{_timestamp(cue.start)} --> {_timestamp(cue.end)}\n{cue.text}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def write_srt(script: Script, path: Path) -> Path:
    path.write_text(to_srt(caption_cues(script)), encoding="utf-8")
    return path


def _wrap(text: str) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= LINE_CHARS:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _timestamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"
