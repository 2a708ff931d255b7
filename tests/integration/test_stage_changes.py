"""Stage changes: every insert and status change takes a new change number and notifies the
channel the API listens on; heartbeats (no status change) do neither."""

from __future__ import annotations

from typing import Any

import psycopg
from sleepy_factory.jobs import cancel_job, create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.stage_changes import STAGE_CHANGES_CHANNEL, changes_after, latest_change

Conn = psycopg.Connection[Any]


def test_a_status_change_takes_a_new_number_and_a_heartbeat_does_not(conn: Conn) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="owls")
    created = changes_after(conn, 0)
    assert sorted((c.stage, c.status) for c in created) == [
        ("audio", "NEW"),
        ("render", "NEW"),
        ("visuals", "NEW"),
    ]
    before = latest_change(conn)

    conn.execute("UPDATE job_stages SET heartbeat_at = now() WHERE job_id = %s", [job_id])
    conn.execute("UPDATE job_stages SET status = status WHERE job_id = %s", [job_id])
    assert changes_after(conn, before) == []

    cancel_job(conn, job_id)
    cancelled = changes_after(conn, before)
    assert sorted((c.stage, c.status) for c in cancelled) == [
        ("audio", "CANCELLED"),
        ("render", "CANCELLED"),
        ("visuals", "CANCELLED"),
    ]
    assert all(c.seq > before for c in cancelled)


def test_a_status_change_notifies_the_stage_change_channel(conn: Conn, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {STAGE_CHANGES_CHANNEL}")
        job_id = create_job(conn, fmt=Format.SHORT, topic="owls")
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [STAGE_CHANGES_CHANNEL]
        cancel_job(conn, job_id)
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [STAGE_CHANGES_CHANNEL]
