"""Job input limits, refused at every door with one line and nothing stored: `sf new-job`, a
`--from-file` batch, and the core `create_job` that anything else creating jobs goes through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.errors import InvalidInputError
from sleepy_factory.job_input import MAX_TOPIC_CHARS
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format

SF = str(Path(sys.executable).parent / "sf")

# (topic, what the one error line must say)
BAD_TOPICS = [
    ("tide pools " * 455, "5004 characters; the limit is 200"),  # the 5,000-character topic of the report
    ("x" * (MAX_TOPIC_CHARS + 1), "the limit is 200"),
    ("   ", "must not be empty"),
    ("line one\nline two", "U+000A"),
    ("tab\tseparated", "U+0009"),
    ("\x1b[31mred\x1b[0m", "U+001B"),
    ("right\u202eto left", "U+202E"),
    ("para\u2029graph", "U+2029"),
    ("🌊 🌊 ... !!", "at least one letter or digit"),
    ("not utf-8 \udcff", "valid UTF-8"),
]


def _sf(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["DATABASE_URL"] = url
    return subprocess.run(
        [SF, *args], env=env, capture_output=True, text=True, errors="replace", timeout=60, check=False
    )


def _jobs(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT format, topic, params FROM jobs ORDER BY created_at, topic").fetchall()


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sf: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(("topic", "fragment"), BAD_TOPICS, ids=[f"topic{n}" for n in range(len(BAD_TOPICS))])
def test_sf_new_job_refuses_a_bad_topic_and_stores_nothing(
    conn: psycopg.Connection[Any], db_url: str, topic: str, fragment: str
) -> None:
    _one_line_error(_sf(db_url, "new-job", "--topic", topic), "--topic", fragment)
    assert _jobs(conn) == []


@pytest.mark.parametrize(
    ("fmt", "seconds", "fragment"),
    [
        ("short", "9", "between 10 and 59"),
        ("short", "60", "between 10 and 59"),
        ("longform", "59", "between 60 and 14400"),
        ("longform", "14401", "between 60 and 14400"),
        ("sleepy", "0", "between 60 and 36000"),
        ("sleepy", "36001", "between 60 and 36000"),
    ],
)
def test_sf_new_job_refuses_a_length_outside_its_formats_bounds(
    conn: psycopg.Connection[Any], db_url: str, fmt: str, seconds: str, fragment: str
) -> None:
    _one_line_error(_sf(db_url, "new-job", "--format", fmt, "--length-seconds", seconds), fragment)
    assert _jobs(conn) == []


def test_a_topic_is_stored_without_its_surrounding_spaces_and_the_bounds_are_inclusive(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    for args in (
        ["--format", "short", "--length-seconds", "10"],
        ["--format", "sleepy", "--length-seconds", "36000"],
    ):
        result = _sf(db_url, "new-job", "--topic", "  tide pools \u00a0", *args)
        assert result.returncode == 0, result.stderr
    assert [(f, t, p["length_seconds"]) for f, t, p in _jobs(conn)] == [
        ("short", "tide pools", 10),
        ("sleepy", "tide pools", 36000),
    ]


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("jobs.csv", f"topic\nfine\nalso fine\n{'x' * 5000}\n", ["line 4", "topic is 5000 characters"]),
        ("jobs.csv", 'format,topic\nshort,fine\nshort,"two\nlines"\n', ["line 4", "U+000A"]),
        (
            "jobs.csv",
            "format,topic,length_seconds\nshort,fine,30\nshort,fine,5\n",
            ["line 3", "between 10 and 59"],
        ),
        ("jobs.csv", "format,topic\nshort,fine,extra\n", ["line 2", "more values than"]),
        ("jobs.jsonl", '{"topic": "fine"}\n{"topic": 42}\n', ["line 2", "topic must be text"]),
        ("jobs.jsonl", '{"topic": "fine"}\n{"topic": null}\n', ["line 2", "topic must be text"]),
        ("jobs.jsonl", '{"topic": "fine"}\n{"topic": "..."}\n', ["line 2", "letter or digit"]),
        ("jobs.jsonl", '{"topic": "fine"}\n{"topic": "a\\u0000b"}\n', ["line 2", "U+0000"]),
        ("jobs.jsonl", '{"format": "sleepy", "length_seconds": 30}\n', ["line 1", "between 60 and 36000"]),
        ("jobs.jsonl", '{"format": "short", "length_seconds": 30.5}\n', ["line 1", "whole number"]),
    ],
)
def test_a_batch_file_with_one_bad_line_is_refused_whole_naming_the_line(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path, name: str, content: str, fragments: list[str]
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    _one_line_error(_sf(db_url, "new-job", "--from-file", str(path)), str(path), *fragments)
    assert _jobs(conn) == []


def test_a_csv_with_a_byte_order_mark_reads_like_any_other(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "from-a-spreadsheet.csv"
    path.write_bytes("\ufeffformat,topic\nshort,Gezeitentümpel\n".encode())
    result = _sf(db_url, "new-job", "--from-file", str(path))
    assert result.returncode == 0, result.stderr
    assert [(f, t) for f, t, _ in _jobs(conn)] == [("short", "Gezeitentümpel")]


@pytest.mark.parametrize(("topic", "fragment"), BAD_TOPICS, ids=[f"topic{n}" for n in range(len(BAD_TOPICS))])
def test_the_core_api_refuses_what_the_cli_refuses(
    conn: psycopg.Connection[Any], topic: str, fragment: str
) -> None:
    with pytest.raises(InvalidInputError, match="topic"):
        create_job(conn, fmt=Format.SHORT, topic=topic)
    with pytest.raises(InvalidInputError, match="between 10 and 59"):
        create_job(conn, fmt=Format.SHORT, topic="fine", length_seconds=5)
    assert _jobs(conn) == []


def test_the_core_api_stores_non_ascii_topics_as_ordinary_text(conn: psycopg.Connection[Any]) -> None:
    create_job(conn, fmt=Format.LONGFORM, topic=" Ébullition des mares 🌊 ")
    assert _jobs(conn) == [("longform", "Ébullition des mares 🌊", {"length_seconds": 17 * 60})]


def test_sf_new_job_json_output_is_unchanged_for_good_input(db_url: str) -> None:
    result = _sf(db_url, "new-job", "--topic", "tide pools", "--json")
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"id"}
