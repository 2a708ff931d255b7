"""What a job may ask for: the limits on its topic and length, checked before anything is stored.

Every way in (`sf new-job`, a `--from-file` batch, `jobs.create_job` itself) goes through these, so a
topic the script writer cannot use is refused at the door with one line instead of becoming a
broken video. Non-ASCII letters, emoji and punctuation are ordinary input.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sleepy_factory.errors import InvalidInputError
from sleepy_factory.pipeline import DEFAULT_LENGTH_SECONDS, MAX_LENGTH_SECONDS, MIN_LENGTH_SECONDS, Format
from sleepy_factory.script_input import validate_script

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


# Per-job picture and voice choices. The media library has its own copy of these (the core must not
# import it); tests/unit/test_media_options_agree.py keeps the two in step.
ASPECT_RATIOS = ("9:16", "16:9", "1:1")
MIN_SPEAKING_RATE = 0.5
MAX_SPEAKING_RATE = 2.0
MAX_VOICE_CHARS = 80
# Voice names as speech engines spell them (en_US-joe-medium): the worker checks it is installed.
_VOICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def validate_aspect(aspect: object, *, label: str = "aspect") -> str | None:
    if aspect is None:
        return None
    if aspect not in ASPECT_RATIOS:
        raise InvalidInputError(f"{label} {str(aspect)[:20]!r} is not one of {', '.join(ASPECT_RATIOS)}")
    return str(aspect)


def validate_rate(rate: object, *, label: str = "speaking_rate") -> float | None:
    """A speaking rate as a multiple of the voice's natural pace (None: the voice's own)."""
    if rate is None:
        return None
    try:
        if isinstance(rate, bool) or not isinstance(rate, int | float | str):
            raise ValueError
        value = float(rate)
    except ValueError:
        raise InvalidInputError(f"{label} must be a number, got {str(rate)[:20]!r}") from None
    if not MIN_SPEAKING_RATE <= value <= MAX_SPEAKING_RATE:  # NaN fails this too
        raise InvalidInputError(
            f"{label} must be between {MIN_SPEAKING_RATE} and {MAX_SPEAKING_RATE}, got {str(rate)[:20]}"
        )
    return value


def validate_voice(voice: object, *, label: str = "voice") -> str | None:
    if voice is None:
        return None
    if not isinstance(voice, str) or not _VOICE_NAME.match(voice) or len(voice) > MAX_VOICE_CHARS:
        raise InvalidInputError(f"{label} {str(voice)[:40]!r} is not a voice name (like en_US-joe-medium)")
    return voice


def validate_draft(draft: object, *, label: str = "draft") -> bool:
    """A draft renders with the fastest encoder preset: a bigger file, for previews, not for upload."""
    if draft is None:
        return False
    if isinstance(draft, bool):
        return draft
    if isinstance(draft, str) and draft.strip().lower() in {"true", "false", "1", "0", "yes", "no"}:
        return draft.strip().lower() in {"true", "1", "yes"}
    raise InvalidInputError(f"{label} must be true or false, got {str(draft)[:20]!r}")


def job_params(
    fmt: Format,
    length_seconds: object = None,
    *,
    voice: object = None,
    speaking_rate: object = None,
    aspect: object = None,
    script: object = None,
    draft: object = None,
) -> dict[str, Any]:
    """A job's params as stored: every choice validated, unset ones left out.

    With a script of its own and no length, the video lasts as long as the script takes to say.
    """
    params: dict[str, Any] = {}
    if script is not None:
        params["script"] = validate_script(script)
    if length_seconds is not None or script is None:
        params["length_seconds"] = validate_length(fmt, length_seconds)
    chosen = {
        "voice": validate_voice(voice),
        "speaking_rate": validate_rate(speaking_rate),
        "aspect": validate_aspect(aspect),
    }
    params.update({key: value for key, value in chosen.items() if value is not None})
    if validate_draft(draft):
        params["draft"] = True
    return params
