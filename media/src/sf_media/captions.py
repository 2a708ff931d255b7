"""Caption cues from the sentence timings: the same cues are burned into the picture and written as
captions.srt and captions.vtt, so the files say exactly what the screen shows.

A sentence becomes as few cues as fit the rules (at most `max_lines` lines of `line_chars`
characters, at most `max_seconds` on screen), with its words shared out evenly between them, so no
cue is left holding one orphaned word. Piper gives no word alignment, so each word's time inside its
sentence is estimated from its syllables (plus a breath after a comma); the overlay highlights words
with these times.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sf_media.errors import MediaError
from sf_media.script import Script, Sentence

LINE_CHARS = 42
LINES_PER_CUE = 2
MIN_CUE_SECONDS = 1.0
MAX_CUE_SECONDS = 7.0

_VOWEL_GROUPS = re.compile(r"[aeiouyàáâäæãåāèéêëēėęîïíīįìôöòóœøōõûüùúūÿ]+", re.IGNORECASE)
# A cue or line that ends a clause costs this share of its squared length (see _even_split).
_CLAUSE_DISCOUNT = 0.85
_PAUSE_AFTER = (",", ";", ":", "\u2014", "\u2013")  # and the em and en dashes


@dataclass(frozen=True, slots=True)
class CueRules:
    """How long and how wide a cue may be."""

    line_chars: int = LINE_CHARS
    max_lines: int = LINES_PER_CUE
    min_seconds: float = MIN_CUE_SECONDS
    max_seconds: float = MAX_CUE_SECONDS

    def __post_init__(self) -> None:
        if self.line_chars < 8:
            raise MediaError(f"caption lines need at least 8 characters, got {self.line_chars}")
        if not 1 <= self.max_lines <= 3:
            raise MediaError(f"a caption cue has 1 to 3 lines, got {self.max_lines}")
        if not 0 < self.min_seconds < self.max_seconds:
            raise MediaError(
                f"caption cue seconds must satisfy 0 < min < max, got {self.min_seconds}, {self.max_seconds}"
            )


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Cue:
    start: float
    end: float
    text: str  # the cue's lines joined by "\n"
    words: tuple[Word, ...] = ()

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.text.split("\n"))


def word_timings(sentence: Sentence) -> list[Word]:
    """Each word's estimated span inside the sentence, proportional to its spoken weight."""
    words = sentence.text.split()
    weights = [_spoken_weight(word) for word in words]
    total = sum(weights) or 1.0
    span = sentence.end - sentence.start
    timed: list[Word] = []
    cursor = sentence.start
    for word, weight in zip(words, weights, strict=True):
        end = cursor + span * weight / total
        timed.append(Word(word, cursor, end))
        cursor = end
    return timed


def _spoken_weight(word: str) -> float:
    """About how long a word takes to say: its syllables (vowel groups, or characters for scripts
    without spaces), a short gap after it, and a breath after a clause."""
    letters = [c for c in word if c.isalnum()]
    vowel_groups = len(_VOWEL_GROUPS.findall(word))
    # No Latin vowels at all (CJK, or a script the pattern does not know): one syllable per letter.
    syllables = max(1, vowel_groups if vowel_groups else len(letters))
    if "".join(letters).isdigit():
        syllables = 2 * len(letters)  # "1990" is said as four syllables or so
    pause = 0.8 if word.endswith(_PAUSE_AFTER) else 0.0
    return syllables + 0.3 + pause


def caption_cues(script: Script, rules: CueRules | None = None) -> list[Cue]:
    """Every sentence as readable cues, in order, none overlapping."""
    rules = rules or CueRules()
    cues: list[Cue] = []
    for sentence in script.sentences():
        words = word_timings(sentence)
        if words:
            cues.extend(_sentence_cues(words, rules))
    return _hold_short_cues(cues, rules.min_seconds)


def _sentence_cues(words: list[Word], rules: CueRules) -> list[Cue]:
    lengths = [len(word.text) for word in words]
    pauses = _pauses(words)
    limit = rules.line_chars * rules.max_lines
    least = max(1, math.ceil((sum(lengths) + len(lengths) - 1) / limit))
    for count in range(least, len(words) + 1):
        groups = _partition(
            lengths,
            count,
            lambda lo, hi: (
                _fits(lengths[lo:hi], rules) and words[hi - 1].end - words[lo].start <= rules.max_seconds
            ),
            pauses=pauses,
        )
        if groups is not None:
            return [_cue(words[lo:hi], rules) for lo, hi in groups]
    # A single word too long for any line: one cue per word, each on its own line.
    return [_cue([word], rules) for word in words]


def _pauses(words: Sequence[Word]) -> frozenset[int]:
    """Indices of words that close a clause: cues and lines rather break after them."""
    return frozenset(index for index, word in enumerate(words) if word.text.endswith(_PAUSE_AFTER))


def _fits(lengths: Sequence[int], rules: CueRules) -> bool:
    """Whether the words wrap into `max_lines` lines (greedy wrapping needs the fewest lines)."""
    lines, current = 1, -1
    for length in lengths:
        if current >= 0 and current + 1 + length <= rules.line_chars:
            current += 1 + length
        elif current < 0:
            current = length
        else:
            lines, current = lines + 1, length
    return lines <= rules.max_lines


def _line_length(lengths: Sequence[int]) -> int:
    return sum(lengths) + max(0, len(lengths) - 1)


def _partition(
    lengths: Sequence[int],
    count: int | None,
    allowed: Callable[[int, int], bool],
    *,
    max_groups: int | None = None,
    pauses: frozenset[int] = frozenset(),
) -> list[tuple[int, int]] | None:
    """Split items into `count` consecutive groups (or the fewest, up to `max_groups`) that are all
    `allowed`, as even in length as possible, rather breaking after the items in `pauses`; None if
    impossible."""
    if not lengths:
        return []
    counts = [count] if count is not None else range(1, (max_groups or len(lengths)) + 1)
    for groups in counts:
        bounds = _even_split(lengths, groups, allowed, pauses)
        if bounds is not None:
            return bounds
    return None


def _even_split(
    lengths: Sequence[int], groups: int, allowed: Callable[[int, int], bool], pauses: frozenset[int]
) -> list[tuple[int, int]] | None:
    """Dynamic programming over (items used, groups made) minimising the sum of squared group lengths,
    which favours even groups; a one-item group among longer ones costs extra (an orphan word), a
    group that ends a clause a little less (so "the seasons, | the weather" beats an even split
    when it is nearly as even). `allowed` must be monotone (a group inside an allowed group is
    allowed), so the scan over group starts stops at the first start that makes the group too long."""
    n = len(lengths)
    if groups > n:
        return None
    best = [[math.inf] * (groups + 1) for _ in range(n + 1)]
    back = [[0] * (groups + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for end in range(1, n + 1):
        for made in range(1, min(groups, end) + 1):
            for start in range(end - 1, made - 2, -1):
                if not allowed(start, end):
                    break
                size = _line_length(lengths[start:end])
                orphan = 1000.0 if end - start == 1 and n >= 2 * groups else 0.0
                clause = _CLAUSE_DISCOUNT if end < n and end - 1 in pauses else 1.0
                cost = best[start][made - 1] + size * size * clause + orphan
                if cost < best[end][made]:
                    best[end][made], back[end][made] = cost, start
    if best[n][groups] == math.inf:
        return None
    bounds: list[tuple[int, int]] = []
    end = n
    for made in range(groups, 0, -1):
        bounds.append((back[end][made], end))
        end = back[end][made]
    return bounds[::-1]


def _cue(words: Sequence[Word], rules: CueRules) -> Cue:
    lengths = [len(word.text) for word in words]
    lines = _partition(
        lengths,
        None,
        lambda lo, hi: _line_length(lengths[lo:hi]) <= rules.line_chars,
        max_groups=rules.max_lines,
        pauses=_pauses(words),
    ) or [(index, index + 1) for index in range(len(words))]
    text = "\n".join(" ".join(word.text for word in words[lo:hi]) for lo, hi in lines)
    return Cue(words[0].start, words[-1].end, text, tuple(words))


def _hold_short_cues(cues: list[Cue], min_seconds: float) -> list[Cue]:
    """Keep a quick cue up for `min_seconds` where the pause before the next one allows."""
    held: list[Cue] = []
    for index, cue in enumerate(cues):
        following = cues[index + 1].start if index + 1 < len(cues) else math.inf
        end = max(cue.end, min(cue.start + min_seconds, following))
        held.append(Cue(cue.start, end, cue.text, cue.words))
    return held


def to_srt(cues: Sequence[Cue]) -> str:
    blocks = [
        f"{number}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{cue.text}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT for the browser's <track>: a header, dots before milliseconds, HTML-escaped text."""
    blocks = [
        f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{_vtt_escape(cue.text)}\n"
        for cue in cues
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def write_srt(script: Script, path: Path, rules: CueRules | None = None) -> Path:
    path.write_text(to_srt(caption_cues(script, rules)), encoding="utf-8")
    return path


def write_captions(script: Script, directory: Path, rules: CueRules | None = None) -> tuple[Path, Path]:
    """captions.srt and captions.vtt (the same cues) in `directory`."""
    cues = caption_cues(script, rules)
    srt, vtt = directory / "captions.srt", directory / "captions.vtt"
    srt.write_text(to_srt(cues), encoding="utf-8")
    vtt.write_text(to_vtt(cues), encoding="utf-8")
    return srt, vtt


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"
