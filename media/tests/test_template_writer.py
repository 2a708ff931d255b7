"""The offline template writer reads like a script: grammatical, topic-aware, no sentence said twice."""

from __future__ import annotations

import re

import pytest
from sf_media import TemplateScriptWriter
from sf_media.template_plan import mid_sentence
from sf_media.templates import (
    CALM_OPENERS,
    GENERIC,
    LONGFORM_HEADINGS,
    OPENERS,
    SLEEPY_HEADINGS,
    THEMES,
    theme_for,
)

# What the old writer drew on screen as if it were content.
TEMPLATE_LABELS = {"The hook", "The surprising part", "Why it matters", "The basics", "Settling in"}
_OPENER = re.compile("^(" + "|".join(re.escape(o) for o in (*OPENERS, *CALM_OPENERS)) + ") ")


def _core(text: str) -> str:
    """A sentence without its opener: "Gently, let the day go." says the same as "Let the day go."."""
    return _OPENER.sub("", text).lower()


@pytest.mark.parametrize(
    ("topic", "fmt", "length"),
    [
        ("the moon", "sleepy", 3600),
        ("rain on a tin roof", "sleepy", 36_000),
        ("tide pools", "sleepy", 1200),
        ("tide pools", "longform", 17 * 60),
        ("ancient Rome", "longform", 3600),
        ("volcanoes", "short", 59),
    ],
)
def test_no_sentence_is_said_twice_in_a_video(topic: str, fmt: str, length: int) -> None:
    texts = [s.text for s in TemplateScriptWriter().write(topic, fmt, length).sentences()]

    cores = [_core(text) for text in texts]
    assert len(set(cores)) == len(cores), [c for c in cores if cores.count(c) > 1][:3]


@pytest.mark.parametrize("fmt", ["short", "longform", "sleepy"])
@pytest.mark.parametrize("topic", ["tide pools", "the moon", "NASA's early rockets", "rain"])
def test_sentences_are_capitalised_and_punctuated(fmt: str, topic: str) -> None:
    script = TemplateScriptWriter().write(topic, fmt, 59 if fmt == "short" else 1800)

    for sentence in script.sentences():
        text = sentence.text
        assert text[0].isupper(), text
        assert text.endswith((".", "!", "?")), text
        # After an opener's comma or colon, the sentence goes on in lower case ("Gently, let ...").
        assert not re.search(r"[,:] (?!I\b|NASA)[A-Z](?![A-Z])", text), text
        assert "  " not in text and " ." not in text and "{" not in text, text
    assert all(heading[0].isupper() for heading in (s.heading for s in script.sections))


@pytest.mark.parametrize("fmt", ["short", "longform", "sleepy"])
def test_section_titles_are_chapter_names_not_template_labels(fmt: str) -> None:
    script = TemplateScriptWriter().write("tide pools", fmt, 59 if fmt == "short" else 3600)

    headings = [section.heading for section in script.sections]
    assert not set(headings) & TEMPLATE_LABELS
    assert len(set(headings)) == len(headings)
    if fmt == "longform":  # chapters name the topic or its world, not "Part 2"
        assert sum("tide pools" in h for h in headings) >= len(headings) // 2


def test_wording_follows_the_topic() -> None:
    sea = " ".join(s.text for s in TemplateScriptWriter().write("tide pools", "sleepy", 1800).sentences())
    sky = " ".join(s.text for s in TemplateScriptWriter().write("the moon", "sleepy", 1800).sentences())

    assert re.search(r"waves|shore|cove|shells|crab|tide", sea)
    assert re.search(r"star|moonlight|night|planet", sky)
    assert not re.search(r"waves|cove|crab", sky)


def test_headings_come_from_the_ordered_lists() -> None:
    assert len(set(LONGFORM_HEADINGS)) == len(LONGFORM_HEADINGS)
    assert SLEEPY_HEADINGS[-1] == "Almost asleep"


@pytest.mark.parametrize(
    ("topic", "theme"),
    [
        ("tide pools", "sea"),
        ("rock pools", "sea"),
        ("icebergs", "weather"),
        ("police radios", None),
        ("volcanoes", "land"),
        ("the moon", "sky"),
        ("moss", "forest"),
        ("ancient Rome", "city"),
    ],
)
def test_a_topic_picks_its_theme_by_whole_words(topic: str, theme: str | None) -> None:
    assert theme_for(topic) is (THEMES[theme] if theme else GENERIC)


def test_a_topic_phrase_reads_naturally_inside_sentences() -> None:
    assert mid_sentence("How volcanoes build islands") == "how volcanoes build islands"
    assert mid_sentence("The Moon") == "the Moon"
    assert mid_sentence("Mount Fuji") == "Mount Fuji"
    assert mid_sentence("NASA missions") == "NASA missions"
    script = TemplateScriptWriter().write("How volcanoes build islands", "longform", 180)
    said = [s.text for s in script.sentences()] + [script.title]
    assert not [line for line in said if " How volcanoes" in line]


def test_a_topic_that_is_a_title_already_is_not_wrapped_in_another() -> None:
    script = TemplateScriptWriter().write("A quiet evening by the lake", "sleepy", 600)
    assert script.title == "A quiet evening by the lake"
    assert TemplateScriptWriter().write("owls", "sleepy", 600).title.lower() != "owls"
