"""The upload form's metadata, from real template scripts: chapters as YouTube accepts them (first at
0:00, at least three, each at least 10 s), limits kept, and none for Shorts."""

import itertools
import re
from dataclasses import replace

from sf_media import TemplateScriptWriter
from sf_media.publishing import MAX_TITLE, MIN_CHAPTER_SECONDS, publishing_metadata


def _seconds(stamp: str) -> int:
    parts = [int(p) for p in stamp.split(":")]
    return sum(value * 60**power for power, value in enumerate(reversed(parts)))


def test_a_longform_video_gets_chapters_youtube_accepts_listed_in_its_description() -> None:
    script = TemplateScriptWriter().write("tide pools", "longform", 600)

    metadata = publishing_metadata(script)

    chapters = metadata["chapters"]
    assert len(chapters) >= 3 and chapters[0]["at"] == "0:00"
    starts = [_seconds(c["at"]) for c in chapters]
    assert all(b - a >= MIN_CHAPTER_SECONDS for a, b in itertools.pairwise(starts))
    assert script.duration - starts[-1] >= MIN_CHAPTER_SECONDS
    assert {c["title"] for c in chapters} <= {section.heading for section in script.sections}
    for chapter in chapters:  # every chapter is listed in the description, as YouTube reads them
        assert f"\n{chapter['at']} {chapter['title']}" in metadata["description"]
    assert metadata["description"].startswith(script.sentences()[0].text)
    assert metadata["title"] == script.title
    assert metadata["tags"] == ["tide pools", "explained", "documentary"]


def test_chapters_past_the_first_hour_carry_hours() -> None:
    script = TemplateScriptWriter().write("the history of maps", "longform", 3 * 3600)

    chapters = publishing_metadata(script)["chapters"]

    assert any(re.fullmatch(r"[12]:\d\d:\d\d", c["at"]) for c in chapters), chapters
    assert all(re.fullmatch(r"\d{1,2}:\d\d|\d:\d\d:\d\d", c["at"]) for c in chapters), chapters


def test_a_sleepy_video_is_tagged_for_sleep() -> None:
    script = TemplateScriptWriter().write("rain on a tin roof", "sleepy", 3600)

    assert publishing_metadata(script)["tags"] == [
        "rain on a tin roof",
        "sleep",
        "relaxing",
        "bedtime story",
        "calm",
    ]


def test_a_short_has_no_chapters_and_a_long_title_is_clipped_to_youtubes_limit() -> None:
    script = TemplateScriptWriter().write("tide pools", "short", 45)
    long_titled = replace(script, title="Tide pools " * 20)

    metadata = publishing_metadata(long_titled)

    assert metadata["chapters"] == []
    assert "Chapters:" not in metadata["description"]
    assert len(metadata["title"]) <= MAX_TITLE and metadata["title"].endswith("…")
    assert "shorts" in metadata["tags"]


def test_a_writers_own_description_and_tags_are_used() -> None:
    script = replace(
        TemplateScriptWriter().write("tide pools", "short", 45),
        description="Tiny worlds between the tides.",
        tags=("Rock Pools", "marine life"),
    )

    metadata = publishing_metadata(script)

    assert metadata["description"] == "Tiny worlds between the tides."
    assert metadata["tags"][:3] == ["tide pools", "rock pools", "marine life"]
