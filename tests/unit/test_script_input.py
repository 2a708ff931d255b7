"""A user's own script, read from Markdown or JSON and checked before a job is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sleepy_factory.errors import InvalidInputError
from sleepy_factory.job_input import job_params, validate_aspect, validate_rate, validate_voice
from sleepy_factory.pipeline import Format
from sleepy_factory.script_input import MAX_SCRIPT_CHARS, parse_markdown, read_script_file, split_sentences

MARKDOWN = """# Moss on *old* stones

Moss is older than trees. It grows slowly

## Where it grows
- On north walls
- Between [paving stones](https://example.com).

It needs shade! Does it need rain? "Yes," she said.

# Why it matters
Moss holds water…
"""


def test_markdown_headings_become_sections_and_prose_sentences() -> None:
    script = parse_markdown(MARKDOWN)

    assert script["title"] == "Moss on old stones"
    assert [s["title"] for s in script["sections"]] == [
        "Moss on old stones",
        "Where it grows",
        "Why it matters",
    ]
    assert script["sections"][0]["sentences"] == ["Moss is older than trees.", "It grows slowly."]
    assert script["sections"][1]["sentences"] == [
        "On north walls.",
        "Between paving stones.",
        "It needs shade!",
        "Does it need rain?",
        '"Yes," she said.',
    ]
    assert script["sections"][2]["sentences"] == ["Moss holds water…"]


def test_a_json_script_may_give_sentences_or_text(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    data = {
        "title": "Moss",
        "sections": [{"title": "One", "sentences": ["A.", " B. "]}, {"heading": "Two", "text": "C. D!"}],
    }
    path.write_text(json.dumps(data), encoding="utf-8")

    script = read_script_file(path)

    assert script == {
        "title": "Moss",
        "sections": [
            {"title": "One", "sentences": ["A.", "B."]},
            {"title": "Two", "sentences": ["C.", "D!"]},
        ],
    }


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("s.json", "{not json", "not JSON"),
        ("s.json", "[1, 2]", "must be an object"),
        ("s.json", '{"sections": []}', "at least one section"),
        ("s.json", '{"sections": [{"title": "x", "sentences": []}]}', "has no sentences"),
        ("s.json", '{"sections": [{"title": "x", "sentences": [3]}]}', "must be a list of text"),
        ("s.md", "just words, no headings? fine.\n\n## Empty\n", "has no sentences"),
        ("s.md", "", "at least one section"),
        ("s.md", "## A\n" + "word " * 200 + "\n", "split it"),
        ("s.md", "## A\n" + "Word. " * (MAX_SCRIPT_CHARS // 6 + 10), "at most"),
        ("s.docx", "## A\nHello.", "expected a Markdown (.md) or JSON (.json) script"),
        ("missing.md", None, "no such file"),
    ],
)
def test_a_script_that_cannot_be_narrated_is_refused_in_one_line(
    tmp_path: Path, name: str, content: str | None, said: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(InvalidInputError) as raised:
        read_script_file(path)

    assert said in str(raised.value) and "\n" not in str(raised.value)
    assert str(path) in str(raised.value)


def test_sentences_split_after_stops_and_keep_their_closing_quotes() -> None:
    assert split_sentences('He said "Stop." Then left!  Why?') == ['He said "Stop."', "Then left!", "Why?"]


@pytest.mark.parametrize("rate", [0.49, 2.01, "fast", float("nan"), True])
def test_speaking_rates_outside_the_bounds_are_refused(rate: object) -> None:
    with pytest.raises(InvalidInputError, match="speaking_rate"):
        validate_rate(rate)


def test_voice_and_aspect_are_checked() -> None:
    assert validate_rate("1.25") == 1.25
    assert validate_aspect("1:1") == "1:1"
    assert validate_voice("en_US-joe-medium") == "en_US-joe-medium"
    with pytest.raises(InvalidInputError, match="9:16, 16:9, 1:1"):
        validate_aspect("4:3")
    with pytest.raises(InvalidInputError, match="not a voice name"):
        validate_voice("../etc/passwd")


def test_params_keep_only_what_was_chosen_and_a_script_has_no_default_length() -> None:
    script = {"title": None, "sections": [{"title": "A", "sentences": ["Hello."]}]}

    assert job_params(Format.SHORT) == {"length_seconds": 45}
    assert job_params(Format.SHORT, script=script, aspect="1:1") == {"script": script, "aspect": "1:1"}
    assert job_params(Format.LONGFORM, 120, voice="joe", speaking_rate=0.8) == {
        "length_seconds": 120,
        "voice": "joe",
        "speaking_rate": 0.8,
    }
