"""A user's own script (`sf new-job --script FILE`): read, checked and normalised before the job is stored.

Markdown: an optional `# Title`, then `##` headings (or further `#` headings) open sections; the prose
under each is split into sentences. JSON: `{"title": ..., "sections": [{"title": ..., "sentences":
[...]}]}` (a section may give `"text"` instead of `"sentences"`, and `"heading"` instead of `"title"`).
Both become the same plain dict, stored in the job's params as `script`; the media library narrates it
sentence by sentence. A file that cannot be narrated is refused with one line naming what is wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sleepy_factory.errors import InvalidInputError

# About two and a half hours of calm narration; a job's params row stays a few hundred kilobytes.
MAX_SCRIPT_CHARS = 200_000
MAX_SECTIONS = 500
MAX_HEADING_CHARS = 120
# A sentence is one caption and one speech-engine line; longer ones read as a wall of text.
MAX_SENTENCE_CHARS = 600
MARKDOWN_SUFFIXES = {".md", ".markdown", ".txt"}

# A sentence runs to its stop and any closing quotes or brackets (straight or curly) after it.
_SENTENCE = re.compile("\\S.*?(?:[.!?\u2026]+[\"'\u201d\u2019)\\]]*(?=\\s|$)|$)")
_STOPS = (".", "!", "?", "\u2026", ":", ";")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def read_script_file(path: Path) -> dict[str, Any]:
    """The script in a Markdown (.md/.markdown/.txt) or JSON (.json) file, normalised."""
    try:
        size = path.stat().st_size
        if size > 4 * MAX_SCRIPT_CHARS:
            raise InvalidInputError(
                f"{path}: {size} bytes; a script may hold at most {MAX_SCRIPT_CHARS} characters"
            )
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path}: is a folder, not a script file") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not UTF-8 text") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
            return validate_script(data)
        if suffix in MARKDOWN_SUFFIXES:
            return parse_markdown(text)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc}") from None
    raise InvalidInputError(f"{path}: expected a Markdown (.md) or JSON (.json) script")


def parse_markdown(text: str) -> dict[str, Any]:
    """Sections from `#`/`##` headings; the first `#` heading before any prose is the title."""
    _check_size(text)
    title: str | None = None
    sections: list[dict[str, Any]] = []
    prose: list[str] = []

    def close() -> None:
        if prose:
            if not sections:
                sections.append({"title": title or "", "sentences": []})
            sections[-1]["sentences"].extend(split_sentences(" ".join(prose)))
            prose.clear()

    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading is None:
            if _LIST_MARK.match(line):
                prose.append(_ended(_plain(_LIST_MARK.sub("", line))))  # an item is a sentence
            elif line.strip():
                prose.append(_plain(line))
            elif prose:
                prose[-1] = _ended(prose[-1])  # so is a paragraph without a full stop
            continue
        close()
        level, name = len(heading.group(1)), _plain(heading.group(2))
        if level == 1 and title is None and not sections:
            title = name
        else:
            sections.append({"title": name, "sentences": []})
    close()
    return validate_script({"title": title, "sections": sections})


def validate_script(data: object) -> dict[str, Any]:
    """A JSON script (as parsed) checked and normalised: `{"title": str | None, "sections": [...]}`."""
    if not isinstance(data, dict):
        raise InvalidInputError("a JSON script must be an object with a list of sections")
    _check_size(json.dumps(data, ensure_ascii=False))
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise InvalidInputError("the script's title must be text")
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise InvalidInputError("a script needs at least one section (## heading or a 'sections' list)")
    if len(raw_sections) > MAX_SECTIONS:
        raise InvalidInputError(f"{len(raw_sections)} sections; at most {MAX_SECTIONS}")
    sections = [_section(raw, number) for number, raw in enumerate(raw_sections, start=1)]
    clean_title = " ".join(title.split())[:MAX_HEADING_CHARS] if title else None
    return {"title": clean_title or None, "sections": sections}


def split_sentences(text: str) -> list[str]:
    """Prose split after `.`, `!`, `?` or an ellipsis (and any closing quote) followed by whitespace."""
    return [part.strip() for part in _SENTENCE.findall(" ".join(text.split())) if part.strip()]


def _ended(text: str) -> str:
    return text if not text or text.rstrip("\"'\u201d\u2019)]").endswith(_STOPS) else text + "."


def _section(raw: object, number: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"section {number} must be an object with a title and sentences")
    name = raw.get("title", raw.get("heading", ""))
    if not isinstance(name, str):
        raise InvalidInputError(f"section {number}: its title must be text")
    name = " ".join(name.split())
    label = f"section {number}" + (f" ({name[:40]!r})" if name else "")
    if len(name) > MAX_HEADING_CHARS:
        raise InvalidInputError(f"{label}: title is {len(name)} characters; at most {MAX_HEADING_CHARS}")
    sentences = raw.get("sentences")
    if sentences is None and isinstance(raw.get("text"), str):
        sentences = split_sentences(raw["text"])
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        raise InvalidInputError(f"{label}: 'sentences' must be a list of text")
    cleaned = [" ".join(s.split()) for s in sentences]
    cleaned = [s for s in cleaned if s]
    if not cleaned:
        raise InvalidInputError(f"{label} has no sentences to narrate")
    for sentence in cleaned:
        if len(sentence) > MAX_SENTENCE_CHARS:
            raise InvalidInputError(
                f"{label}: a sentence of {len(sentence)} characters; split it (at most {MAX_SENTENCE_CHARS})"
            )
        if not any(char.isalnum() for char in sentence):
            raise InvalidInputError(f"{label}: {sentence[:40]!r} has nothing to say")
    return {"title": name, "sentences": cleaned}


def _plain(text: str) -> str:
    """Markdown inline markup removed: links keep their text, emphasis its words."""
    text = _LINK.sub(r"\1", text)
    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(r"\2", text)
    return " ".join(text.split())


def _check_size(text: str) -> None:
    if len(text) > MAX_SCRIPT_CHARS:
        raise InvalidInputError(f"the script is {len(text)} characters; at most {MAX_SCRIPT_CHARS}")
