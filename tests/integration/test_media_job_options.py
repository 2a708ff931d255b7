"""Real jobs through the worker's media adapter: a job's own script, voice rate and aspect ratio reach
the video, and an LLM-written script leaves its prompts and model among the job's artifacts.

Real parts throughout: Postgres, the worker and orchestrator, the artifact store, Piper speaking, the
encoder, and (for the LLM) a chat-completions server in its own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sf_media import probe
from sf_media.encoder import h264_profile
from sf_media.llm_client import LLMConfig
from sf_orchestrator import promote_ready_stages
from sf_worker import Worker
from sf_worker.handlers.media_stages import AudioStage, RenderStage, VisualsStage, llm_config
from sleepy_factory.artifacts.catalog import list_artifacts
from sleepy_factory.artifacts.store import LocalStore
from sleepy_factory.config import Settings, artifact_root
from sleepy_factory.db import open_pool
from sleepy_factory.handlers import StageHandler
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format

from tests.support.polling import wait_until

FAKE_LLM_SERVER = Path(__file__).parents[2] / "media" / "tests" / "fake_llm_server.py"
STATUSES = "SELECT stage, status, last_error FROM job_stages WHERE job_id = %s ORDER BY position"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=db_url,
        data_dir=tmp_path / "sf",
        lease_seconds=60,
        max_attempts=1,
        poll_seconds=0.05,
        notify=False,
    )


@pytest.fixture
def run_stages(settings: Settings, db_url: str) -> Iterator[Any]:
    pool = open_pool(db_url, max_size=6, name="test-media-worker")
    started: list[tuple[threading.Thread, threading.Event]] = []

    def start(handlers: dict[str, StageHandler]) -> None:
        for stage, handler in handlers.items():
            stop = threading.Event()
            worker = Worker(pool, settings, stage=stage, handler=handler, concurrency=1)
            thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
            thread.start()
            started.append((thread, stop))

    yield start
    for _, stop in started:
        stop.set()
    for thread, _ in started:
        thread.join(30)
    pool.close()


def _finish(conn: psycopg.Connection[Any], job_id: uuid.UUID, stages: int) -> list[tuple[Any, ...]]:
    """Promote stages as the orchestrator would until `stages` of them are DONE (or one fails)."""

    def done() -> list[tuple[Any, ...]] | None:
        promote_ready_stages(conn)
        rows = conn.execute(STATUSES, (job_id,)).fetchall()
        if any(row[1] == "ERROR" for row in rows):
            raise AssertionError(f"a stage failed: {rows}")
        return rows if sum(row[1] == "DONE" for row in rows) >= stages else None

    return wait_until(done, 240, what=f"{stages} stage(s) to finish")


def _artifact(conn: psycopg.Connection[Any], settings: Settings, job_id: uuid.UUID, kind: str) -> Path:
    rows = [row for row in list_artifacts(conn, job_id) if row.kind == kind]
    assert rows, f"no {kind} artifact"
    return LocalStore(artifact_root(settings)).path(rows[-1].uri)


def test_a_job_narrates_its_own_script_at_its_aspect_ratio(
    conn: psycopg.Connection[Any], settings: Settings, run_stages: Any
) -> None:
    script = {
        "title": "Moss on old stones",
        "sections": [
            {"title": "Where moss grows", "sentences": ["Moss grows on north walls.", "It likes the shade."]},
            {"title": "Why it matters", "sentences": ["Moss holds water like a sponge."]},
        ],
    }
    job_id = create_job(conn, fmt=Format.SHORT, topic="moss", script=script, aspect="1:1", speaking_rate=1.2)
    run_stages({"audio": AudioStage(), "visuals": VisualsStage(), "render": RenderStage()})

    _finish(conn, job_id, 3)

    final = json.loads(_artifact(conn, settings, job_id, "script_json").read_text(encoding="utf-8"))
    assert final["title"] == "Moss on old stones"
    assert [s["heading"] for s in final["sections"]] == ["Where moss grows", "Why it matters"]
    said = [s["text"] for section in final["sections"] for s in section["sentences"]]
    assert said == ["Moss grows on north walls.", "It likes the shade.", "Moss holds water like a sponge."]
    video = probe(_artifact(conn, settings, job_id, "video"))
    assert (video.width, video.height) == (1080, 1080)
    assert abs(video.duration - final["duration"]) < 0.5
    assert h264_profile(str(video.path)) == "High"  # encoded for upload
    assert not [row for row in list_artifacts(conn, job_id) if row.kind == "script_prompt"]  # no LLM


def test_a_draft_job_renders_with_the_fast_preset(
    conn: psycopg.Connection[Any], settings: Settings, run_stages: Any
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="moss", length_seconds=10, draft=True)
    run_stages({"audio": AudioStage(), "visuals": VisualsStage(), "render": RenderStage()})

    _finish(conn, job_id, 3)

    video = probe(_artifact(conn, settings, job_id, "video"))
    # Plain ultrafast has no CABAC or 8x8 transform, so x264 declares a Baseline-family profile.
    assert "Baseline" in h264_profile(str(video.path))
    assert abs(video.duration - 10) <= 2


@pytest.fixture
def llm_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(FAKE_LLM_SERVER)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        process.kill()
        process.wait(10)


def test_an_llm_written_script_records_its_prompts_and_model_but_not_the_key(
    conn: psycopg.Connection[Any],
    settings: Settings,
    run_stages: Any,
    llm_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SF_LLM_BASE_URL", llm_server)
    monkeypatch.setenv("SF_LLM_MODEL", "fake-model-7b")
    monkeypatch.setenv("SF_LLM_API_KEY", "sk-secret-123")
    configured = llm_config(Settings(DATABASE_URL=settings.database_url))
    assert isinstance(configured, LLMConfig)
    assert "sk-secret-123" not in repr(configured)
    job_id = create_job(conn, fmt=Format.SHORT, topic="owls at night", length_seconds=12)
    run_stages({"audio": AudioStage(configured)})

    _finish(conn, job_id, 1)

    record_text = _artifact(conn, settings, job_id, "script_prompt").read_text(encoding="utf-8")
    assert "sk-secret-123" not in record_text
    record = json.loads(record_text)
    assert record["model"] == "fake-model-7b" and record["server"] == llm_server
    assert "owls at night" in record["calls"][0]["messages"][-1]["content"]
    metadata = json.loads(_artifact(conn, settings, job_id, "metadata").read_text(encoding="utf-8"))
    assert metadata["title"] == "All about owls at night"
    assert "calm" in metadata["tags"]
