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


def test_every_transaction_that_changes_a_status_notifies_even_after_a_rolled_back_savepoint(
    conn: Conn, db_url: str
) -> None:
    # The trigger notifies once per transaction (a transaction-local flag): the flag must neither
    # outlive its transaction nor survive the rollback of the savepoint whose notification it stands for.
    promote = "UPDATE job_stages SET status = 'READY' WHERE job_id = %s AND status = 'NEW'"
    demote = "UPDATE job_stages SET status = 'NEW' WHERE job_id = %s AND status = 'READY'"
    job_id = create_job(conn, fmt=Format.SHORT, topic="owls")
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {STAGE_CHANGES_CHANNEL}")

        with conn.transaction():
            conn.execute(promote, [job_id])
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [STAGE_CHANGES_CHANNEL]

        with conn.transaction():  # the same session, a new transaction
            conn.execute(demote, [job_id])
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [STAGE_CHANGES_CHANNEL]

        with conn.transaction():
            with conn.transaction(force_rollback=True):  # a savepoint, rolled back with its notification
                conn.execute(promote, [job_id])
            conn.execute(promote, [job_id])
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [STAGE_CHANGES_CHANNEL]
    statuses = conn.execute("SELECT DISTINCT status FROM job_stages WHERE job_id = %s", [job_id]).fetchall()
    assert statuses == [("READY",)]
