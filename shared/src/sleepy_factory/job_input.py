"""What a job may ask for: the limits on its topic and length, checked before anything is stored.

Every way in (`sf new-job`, a `--from-file` batch, `jobs.create_job` itself) goes through these, so a
topic the script writer cannot use is refused at the door with one line instead of becoming a
broken video. Non-ASCII letters, emoji and punctuation are ordinary input.
"""

from __future__ import annotations

import unicodedata

from sleepy_factory.errors import InvalidInputError
from sleepy_factory.pipeline import DEFAULT_LENGTH_SECONDS, MAX_LENGTH_SECONDS, MIN_LENGTH_SECONDS, Format

DEFAULT_TOPIC = "tide pools"

# A topic is a title-sized phrase: the script writer puts it in a title card and in sentences, and a
# thousand characters of it crowd out the narration the length asks for.
MAX_TOPIC_CHARS = 200

# Characters that would break a one-line topic in titles, captions and `sf list-jobs`: C0/C1
# controls (tab and newline included), line and paragraph separators, lone surrogates (undecodable
# bytes from a command line), and the bidirectional overrides that make text display out of order.
_REFUSED_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def validate_topic(topic: object, *, label: str = "topic") -> str:
    """The topic as stored (surrounding whitespace removed); InvalidInputError naming `label` if refused."""
    if not isinstance(topic, str):
        raise InvalidInputError(f"{label} must be text, got {type(topic).__name__}")
    stripped = topic.strip()
    if not stripped:
        raise InvalidInputError(f"{label} must not be empty")
    if len(stripped) > MAX_TOPIC_CHARS:
        raise InvalidInputError(f"{label} is {len(stripped)} characters; the limit is {MAX_TOPIC_CHARS}")
    for position, char in enumerate(stripped, start=1):
        category = unicodedata.category(char)
        if category == "Cs":
            raise InvalidInputError(f"{label} must be valid UTF-8 text")
        if category in _REFUSED_CATEGORIES or char in _BIDI_CONTROLS:
            found = f"U+{ord(char):04X} at character {position}"
            raise InvalidInputError(f"{label} must be one line of printable text (found {found})")
    if not any(char.isalnum() for char in stripped):
        raise InvalidInputError(f"{label} must contain at least one letter or digit")
    return stripped


def validate_length(fmt: Format, length_seconds: object, *, label: str = "length_seconds") -> int:
    """The length in seconds to make (the format's default when None); refused outside its bounds."""
    if length_seconds is None:
        return DEFAULT_LENGTH_SECONDS[fmt]
    if isinstance(length_seconds, bool) or not isinstance(length_seconds, int):
        raise InvalidInputError(f"{label} must be a whole number of seconds, got {length_seconds!r}")
    low, high = MIN_LENGTH_SECONDS[fmt], MAX_LENGTH_SECONDS[fmt]
    if not low <= length_seconds <= high:
        raise InvalidInputError(
            f"{label} for a {fmt.value} must be between {low} and {high}, got {length_seconds}"
        )
    return length_seconds


def validate_format(fmt: object, *, label: str = "format") -> Format:
    """A Format from its name (or itself); refused with the list of formats otherwise."""
    if isinstance(fmt, Format):
        return fmt
    try:
        return Format(str(fmt))
    except ValueError:
        choices = ", ".join(f.value for f in Format)
        raise InvalidInputError(f"{label} {str(fmt)[:40]!r} is not one of {choices}") from None
