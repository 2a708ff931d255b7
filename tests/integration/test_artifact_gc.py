"""`sf gc` against a real database: it reads what to keep in one snapshot, and leaves young files
alone however orphaned they look."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sf_orchestrator import promote_ready_stages
from sleepy_factory.artifacts import LocalStore
from sleepy_factory.artifacts.maintenance import GcReport, collect_garbage
from sleepy_factory.db import connect
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.queue.claim import claim
from sleepy_factory.queue.complete import Finished, complete_many

from tests.support.children import SF
from tests.support.polling import wait_until

WAITING_ON_A_LOCK = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%%job_stages%%'
"""


def test_a_run_completing_while_gc_reads_keeps_its_files(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "artifacts")
    job_id = create_job(conn, fmt=Format.SHORT, topic="photo finish")
    promote_ready_stages(conn)
    (run,) = claim(conn, stage="audio", owner="worker-1", limit=1, lease_seconds=60)
    scratch = store.workdir(job_id, "audio", 1) / "script.md"
    scratch.write_text("# Photo finish\n")
    artifact = store.put(job_id, "audio", 1, kind="script_md", source=scratch, media={})
    reports: list[GcReport] = []

    def gc() -> None:
        with connect(db_url) as gc_conn:
            reports.append(collect_garbage(gc_conn, store, older_than=dt.timedelta(0)))

    gc_thread = threading.Thread(target=gc)
    with psycopg.connect(db_url, autocommit=True) as completer, completer.transaction():
        # The real completion (DONE + registration in one transaction), held open with a lock
        # that makes gc wait the moment it reads job_stages: it has either read artifacts
        # already (before the commit) or reads both after it. Only the latter is safe.
        completer.execute("LOCK TABLE job_stages IN ACCESS EXCLUSIVE MODE")
        finished = Finished(run.lease, {"ok": True}, (artifact,))
        assert complete_many(completer, stage="audio", owner="worker-1", runs=[finished]) == {job_id}
        gc_thread.start()
        wait_until(lambda: conn.execute(WAITING_ON_A_LOCK).fetchone() == (1,), 30, what="gc to wait")
    gc_thread.join(30)

    registered = store.path(artifact.uri)
    assert registered.read_text() == "# Photo finish\n", "gc deleted the files of a run that completed"
    assert registered.parent not in reports[0].removed


def test_sf_gc_removes_old_orphans_and_keeps_young_ones(sf_env: dict[str, str], tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "sf-data" / "artifacts")  # the default under SF_DATA_DIR
    orphan = uuid.uuid4()  # no such job: everything under it is garbage, once old enough
    old, young = store.workdir(orphan, "render", 1).parent, store.workdir(orphan, "render", 2).parent
    leftover = b"left by a dead attempt an hour ago"
    (old / "video.mp4").write_bytes(leftover)
    (young / "video.mp4").write_bytes(b"being written right now")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    result = subprocess.run(
        [str(SF), "gc", "--older-than", "10m"],
        env=sf_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(old), f"removed 1 director(ies), {len(leftover)} bytes"]
    assert not old.exists()
    assert (young / "video.mp4").read_bytes() == b"being written right now"
