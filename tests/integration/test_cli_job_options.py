"""`sf new-job --script/--voice/--rate/--aspect` and the same fields in batch files, through the real
`sf` command and a real database: stored in the job's params, or refused in one line with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.integration.test_cli_input import _one_line_error, _sf

MARKDOWN = "# Moss\n\nMoss grows slowly. It likes shade.\n\n## Where\nOn north walls.\n"


def _params(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return [row[0] for row in conn.execute("SELECT params FROM jobs ORDER BY created_at, id").fetchall()]


def test_a_job_with_its_own_script_voice_rate_and_aspect(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "moss.md"
    script.write_text(MARKDOWN, encoding="utf-8")

    result = _sf(
        db_url,
        "new-job",
        "--format",
        "longform",
        "--topic",
        "moss",
        "--script",
        str(script),
        "--voice",
        "joe",
        "--rate",
        "1.25",
        "--aspect",
        "1:1",
        "--draft",
        "--json",
    )

    assert result.returncode == 0, result.stderr
    [params] = _params(conn)
    assert params == {
        "script": {
            "title": "Moss",
            "sections": [
                {"title": "Moss", "sentences": ["Moss grows slowly.", "It likes shade."]},
                {"title": "Where", "sentences": ["On north walls."]},
            ],
        },
        "voice": "joe",
        "speaking_rate": 1.25,
        "aspect": "1:1",
        "draft": True,
    }
    shown = _sf(db_url, "show-job", json.loads(result.stdout)["id"])
    assert '"script": "2 sections, 3 sentences"' in shown.stdout  # not the whole script on one line


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--rate", "3"], ["--rate must be between 0.5 and 2.0, got 3"]),
        (["--rate", "quick"], ["--rate must be a number"]),
        (["--aspect", "4:3"], ["--aspect '4:3' is not one of 9:16, 16:9, 1:1"]),
        (["--voice", "joe; rm -rf /"], ["--voice", "not a voice name"]),
        (["--script", "missing.md"], ["missing.md: no such file"]),
        (["--script", "{bad}.json"], ["not JSON"]),
        (["--script", "{empty}.md"], ["at least one section"]),
    ],
)
def test_bad_job_options_are_one_line_and_store_nothing(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    (tmp_path / "{bad}.json").write_text("{oops", encoding="utf-8")
    (tmp_path / "{empty}.md").write_text("\n\n", encoding="utf-8")
    args = [str(tmp_path / a) if a.endswith((".md", ".json")) else a for a in args]

    _one_line_error(_sf(db_url, "new-job", *args), 2, *fragments)

    assert _params(conn) == []


def test_batch_files_carry_the_same_options(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "moss.md").write_text(MARKDOWN, encoding="utf-8")
    lines = [
        {"format": "short", "topic": "owls", "voice": "joe", "speaking_rate": 0.8, "aspect": "16:9"},
        {"format": "longform", "topic": "moss", "script": "moss.md"},
        {
            "format": "short",
            "topic": "inline",
            "script": {"sections": [{"title": "A", "sentences": ["Hi."]}]},
        },
    ]
    batch = tmp_path / "jobs.jsonl"
    batch.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    csv = tmp_path / "jobs.csv"
    csv.write_text("format,topic,speaking_rate,aspect,draft\nshort,rain,1.5,9:16,yes\n", encoding="utf-8")

    assert _sf(db_url, "new-job", "--from-file", str(batch)).returncode == 0
    assert _sf(db_url, "new-job", "--from-file", str(csv)).returncode == 0

    rows = conn.execute("SELECT topic, params FROM jobs").fetchall()
    by_topic = {topic: params for topic, params in rows}
    owls, moss, inline, rain = (by_topic[t] for t in ("owls", "moss", "inline", "rain"))
    assert owls == {"length_seconds": 45, "voice": "joe", "speaking_rate": 0.8, "aspect": "16:9"}
    assert moss["script"]["title"] == "Moss" and "length_seconds" not in moss
    assert inline["script"]["sections"][0]["sentences"] == ["Hi."]
    assert rain == {"length_seconds": 45, "speaking_rate": 1.5, "aspect": "9:16", "draft": True}


def test_a_bad_option_in_a_batch_file_names_its_line(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    batch = tmp_path / "jobs.csv"
    batch.write_text("format,topic,aspect\nshort,owls,9:16\nshort,rain,4:3\n", encoding="utf-8")
    drafts = tmp_path / "drafts.csv"
    drafts.write_text("format,topic,draft\nshort,owls,perhaps\n", encoding="utf-8")

    _one_line_error(_sf(db_url, "new-job", "--from-file", str(batch)), 2, "line 3", "aspect '4:3'")
    _one_line_error(_sf(db_url, "new-job", "--from-file", str(drafts)), 2, "line 2", "draft must be")

    assert _params(conn) == []


def test_per_job_options_with_a_batch_file_are_refused_not_ignored(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    batch = tmp_path / "jobs.csv"
    batch.write_text("format,topic\nshort,owls\n", encoding="utf-8")

    result = _sf(db_url, "new-job", "--from-file", str(batch), "--aspect", "1:1", "--voice", "joe")

    _one_line_error(result, 2, "--voice, --aspect cannot be combined with --from-file")
    assert _params(conn) == []
