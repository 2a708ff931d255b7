import datetime as dt
import uuid

from sf_cli.render import job_json, job_line, safe_text
from sleepy_factory.jobs import JobSummary


def _job(topic: str = "tide pools") -> JobSummary:
    return JobSummary(
        id=uuid.UUID(int=1),
        format="short",
        topic=topic,
        params={"length_seconds": 45},
        created_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
        stages={"audio": "DONE", "visuals": "DONE", "render": "DONE"},
        attempts=3,
    )


def test_a_finished_job_lists_with_every_stage_and_its_attempts() -> None:
    assert job_line(_job()).endswith("audio=DONE visuals=DONE render=DONE attempts=3")


def test_list_json_has_the_documented_shape() -> None:
    assert job_json(_job()) == {
        "id": "00000000-0000-0000-0000-000000000001",
        "format": "short",
        "topic": "tide pools",
        "params": {"length_seconds": 45},
        "stages": {"audio": "DONE", "visuals": "DONE", "render": "DONE"},
        "attempts": 3,
        "created_at": "2026-11-25T00:00:00+00:00",
    }


def test_control_characters_cannot_break_the_table() -> None:
    line = job_line(_job("evil\nnext line\x1b[31m red"))
    assert "\n" not in line
    assert "\x1b" not in line


def test_long_topics_are_cut_with_an_ellipsis() -> None:
    assert safe_text("x" * 500, 40) == "x" * 39 + "…"
    assert safe_text("🦀 tide pools", 40) == "🦀 tide pools"
