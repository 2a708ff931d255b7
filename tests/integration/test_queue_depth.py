"""The orchestrator's queue-depth reading: live stages only, and nothing (not an error) without a pool."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from sf_orchestrator.queue_depth import read_queue_depth

from tests.support.rows import insert_jobs, set_stage

Conn = psycopg.Connection[Any]


def test_queue_depth_counts_live_stages_by_stage_and_status_and_leaves_history_out(
    conn: Conn, db_url: str
) -> None:
    done, failed, running, cancelled = insert_jobs(conn, 4)
    for stage in ("audio", "visuals", "render"):
        set_stage(conn, done, stage, "DONE")
    set_stage(conn, failed, "audio", "ERROR")
    set_stage(conn, running, "audio", "DONE")
    set_stage(conn, running, "visuals", "RUNNING")
    set_stage(conn, cancelled, "audio", "CANCELLED")

    with ConnectionPool(db_url, min_size=1, max_size=1, kwargs={"autocommit": True}) as pool:
        depth = read_queue_depth(pool)

    assert depth == {
        ("audio", "ERROR"): 1,
        ("visuals", "NEW"): 2,  # the failed and the cancelled job's
        ("visuals", "RUNNING"): 1,
        ("render", "NEW"): 3,
    }


def test_queue_depth_is_not_read_once_the_pool_is_closed(db_url: str) -> None:
    pool: ConnectionPool[Any] = ConnectionPool(db_url, min_size=1, max_size=1, open=True)
    pool.close()

    assert read_queue_depth(pool) is None
