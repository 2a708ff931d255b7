"""Artifacts through a real worker: registered only with a completed run, exactly once, readable
by later stages, and collectable when an attempt did not complete."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sf_worker import Worker
from sleepy_factory.artifacts import LocalStore, list_artifacts
from sleepy_factory.artifacts.maintenance import collect_garbage, verify_job
from sleepy_factory.artifacts.store import file_digest
from sleepy_factory.config import Settings
from sleepy_factory.db import open_pool
from sleepy_factory.handlers import StageContext
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.queue import JobSpec

from tests.support.polling import wait_until

STATUS = "SELECT status FROM job_stages WHERE job_id = %s AND stage = %s"


class Writes:
    """Publishes one file per run; fails (after publishing) while `fail` is set."""

    def __init__(self, kind: str, fail: bool = False) -> None:
        self.kind = kind
        self.fail = fail
        self.seen_inputs: list[dict[str, Path]] = []

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        self.seen_inputs.append(dict(ctx.inputs()))
        path = ctx.workdir() / f"{self.kind}.txt.tmp"
        path.write_text(f"{stage} of {job.topic}, attempt {ctx.attempt}\n")
        ctx.publish(self.kind, path, {"lines": 1})
        if self.fail:
            raise RuntimeError("published, then failed")
        return {"ok": True}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=db_url,
        lease_seconds=5,
        max_attempts=3,
        backoff_base_seconds=0,
        poll_seconds=0.05,
        notify=False,
        artifact_dir=tmp_path / "artifacts",
    )


@pytest.fixture
def run_worker(settings: Settings, db_url: str) -> Iterator[Any]:
    started: list[tuple[threading.Thread, threading.Event]] = []
    pool = open_pool(db_url, max_size=6, name="test-artifacts")

    def start(stage: str, handler: Any) -> None:
        stop = threading.Event()
        worker = Worker(pool, settings, stage=stage, handler=handler, concurrency=1)
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        started.append((thread, stop))

    yield start
    for thread, stop in started:
        stop.set()
        thread.join(10)
    pool.close()


def test_a_completed_run_registers_its_file_once_and_the_next_stage_reads_it(
    conn: psycopg.Connection[Any], run_worker: Any, settings: Settings
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="tide pools")
    promote_ready_stages(conn)
    audio, visuals = Writes("script"), Writes("frames")
    run_worker("audio", audio)
    run_worker("visuals", visuals)

    wait_until(
        lambda: conn.execute(STATUS, (job_id, "visuals")).fetchone() == ("DONE",), 20, what="visuals DONE"
    )

    store = LocalStore(settings.artifact_dir or Path())
    artifacts = list_artifacts(conn, job_id)
    assert [(a.stage, a.kind, a.attempt) for a in artifacts] == [
        ("audio", "script", 1),
        ("visuals", "frames", 1),
    ]
    script = store.path(artifacts[0].uri)
    assert (artifacts[0].sha256, artifacts[0].bytes) == file_digest(script)
    assert script.read_text() == "audio of tide pools, attempt 1\n"
    assert visuals.seen_inputs == [{"script": script}]
    assert not (script.parent / ".work").exists()  # scratch space of a completed attempt is gone
    assert verify_job(conn, store, job_id)[1] == []


def test_a_failed_attempt_registers_nothing_and_gc_removes_its_files(
    conn: psycopg.Connection[Any], run_worker: Any, settings: Settings
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="unlucky")
    promote_ready_stages(conn)
    handler = Writes("script", fail=True)
    run_worker("audio", handler)
    wait_until(
        lambda: conn.execute(STATUS, (job_id, "audio")).fetchone() == ("ERROR",), 20, what="audio ERROR"
    )

    store = LocalStore(settings.artifact_dir or Path())
    assert list_artifacts(conn, job_id) == []
    leftovers = sorted(p.name for _, _, _, p in store.attempt_dirs())
    assert leftovers == ["1", "2", "3"]

    report = collect_garbage(conn, store, older_than=dt.timedelta(0))
    assert len(report.removed) == 3 and report.bytes_freed > 0
    assert list(store.attempt_dirs()) == []


def test_gc_keeps_registered_files_and_running_attempts(
    conn: psycopg.Connection[Any], run_worker: Any, settings: Settings
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="keeper")
    promote_ready_stages(conn)
    run_worker("audio", Writes("script"))
    wait_until(lambda: conn.execute(STATUS, (job_id, "audio")).fetchone() == ("DONE",), 20, what="audio DONE")
    store = LocalStore(settings.artifact_dir or Path())
    # An attempt in progress elsewhere: its directory must survive gc.
    running = store.workdir(job_id, "visuals", 1)
    conn.execute(
        "UPDATE job_stages SET status = 'RUNNING', attempt = 1, lease_owner = 'w', "
        "lease_expires_at = now() + interval '1 minute' WHERE job_id = %s AND stage = 'visuals'",
        (job_id,),
    )

    assert collect_garbage(conn, store, older_than=dt.timedelta(0)).removed == []
    assert running.exists()
    assert verify_job(conn, store, job_id)[1] == []


def test_verify_notices_a_changed_file(
    conn: psycopg.Connection[Any], run_worker: Any, settings: Settings
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="tamper")
    promote_ready_stages(conn)
    run_worker("audio", Writes("script"))
    wait_until(lambda: conn.execute(STATUS, (job_id, "audio")).fetchone() == ("DONE",), 20, what="audio DONE")
    store = LocalStore(settings.artifact_dir or Path())
    (artifact,) = list_artifacts(conn, job_id)

    store.path(artifact.uri).write_text("edited by hand\n")

    _, problems = verify_job(conn, store, job_id)
    assert [p.problem.split(":")[0] for p in problems] == ["changed on disk"]
