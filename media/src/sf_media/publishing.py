"""What a creator pastes into the upload form: title, description, tags and chapters, derived from
the timed script and kept within YouTube's limits, so `sf export` hands over a ready upload."""

from __future__ import annotations

import json
from typing import Any

from sf_media.formats import Format
from sf_media.script import Script

# YouTube's limits: a longer title or description is refused, tags beyond 500 characters dropped.
MAX_TITLE = 100
MAX_DESCRIPTION = 5000
MAX_TAGS_CHARS = 500
# YouTube shows chapters only with at least three, the first at 0:00, each at least 10 s long.
MIN_CHAPTERS = 3
MIN_CHAPTER_SECONDS = 10.0
OPENING_SENTENCES = 2
FORMAT_TAGS: dict[Format, tuple[str, ...]] = {
    Format.SHORT: ("shorts",),
    Format.LONGFORM: ("explained", "documentary"),
    Format.SLEEPY: ("sleep", "relaxing", "bedtime story", "calm"),
}


def publishing_metadata(script: Script) -> dict[str, Any]:
    chapters = _chapters(script)
    # A writer's own description (an LLM's) when it gave one, else the opening lines.
    opening = script.description or " ".join(s.text for s in script.sentences()[:OPENING_SENTENCES])
    description = opening
    if chapters:
        listing = "\n".join(f"{chapter['at']} {chapter['title']}" for chapter in chapters)
        description = f"{opening}\n\nChapters:\n{listing}"
    return {
        "title": _clip(script.title, MAX_TITLE),
        "description": _clip(description, MAX_DESCRIPTION),
        "tags": _tags(script),
        "chapters": chapters,
    }


def metadata_json(script: Script) -> str:
    return json.dumps(publishing_metadata(script), indent=2, ensure_ascii=False) + "\n"


def _chapters(script: Script) -> list[dict[str, str]]:
    if script.format is Format.SHORT:
        return []  # Shorts have no chapters
    starts: list[tuple[float, str]] = []
    for section in script.sections:
        if not section.sentences:
            continue
        start = 0.0 if not starts else section.sentences[0].start
        if starts and start - starts[-1][0] < MIN_CHAPTER_SECONDS:
            continue  # too close to the one before: fold it into that chapter
        starts.append((start, section.heading))
    if len(starts) < MIN_CHAPTERS or script.duration - starts[-1][0] < MIN_CHAPTER_SECONDS:
        return []
    return [{"at": _timestamp(start), "title": heading} for start, heading in starts]


def _tags(script: Script) -> list[str]:
    tags: list[str] = []
    used = 0
    for tag in (script.topic, *script.tags, *FORMAT_TAGS[script.format]):
        cleaned = tag.strip().lower()
        if cleaned and cleaned not in tags and used + len(cleaned) <= MAX_TAGS_CHARS:
            tags.append(cleaned)
            used += len(cleaned)
    return tags


def _timestamp(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
