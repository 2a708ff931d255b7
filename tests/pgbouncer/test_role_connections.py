"""The roles' connections keep no session state, so they work through PgBouncer in transaction mode."""

from __future__ import annotations

import logging
import subprocess
import threading
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr
from sleepy_factory.config import Settings
from sleepy_factory.queue import claim, heartbeat, release, requeue_expired
from sleepy_factory.runtime import open_role_pool
from sleepy_factory.session_limits import SessionLimits
from sleepy_factory.supervision import Supervisor
from sleepy_factory.wakeup import ready_channel, start_listener

from tests.support.children import SF
from tests.support.pgbouncer import set_role_limits
from tests.support.polling import wait_until
from tests.support.rows import insert_jobs, set_stage

THREADS = 8
ROUNDS = 15


def _pooled_settings(db_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=SecretStr(db_url), pool_mode="transaction", connect_timeout=10, **overrides)


def test_hot_role_statements_keep_working_as_transactions_hop_between_server_sessions(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    # More clients than PgBouncer has server sessions: each statement lands on whichever is free.
    # A statement prepared on one would be missing on the next ("prepared statement does not
    # exist"), and startup options would be refused before the first statement.
    for job_id in insert_jobs(conn, THREADS * ROUNDS):
        set_stage(conn, job_id, "audio", "READY")
    errors: list[BaseException] = []
    pool = open_role_pool(_pooled_settings(db_url), name="hop", size=THREADS)

    def work(n: int) -> None:
        try:
            for _ in range(ROUNDS):
                with pool.connection() as own:
                    claimed = claim(own, stage="audio", owner=f"w{n}", limit=1, lease_seconds=30)
                with pool.connection() as own:
                    leases = [c.lease for c in claimed]
                    heartbeat(own, owner=f"w{n}", leases=leases, lease_seconds=30)
                    for lease in leases:
                        release(own, lease)
                    requeue_expired(own, max_lease_losses=5)
        except BaseException as exc:  # collected, then asserted on the test's thread
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        pool.close()

    assert [f"{type(e).__name__}: {e}" for e in errors] == []


def test_missing_role_limits_are_named_with_the_statements_that_set_them(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _pooled_settings(db_url, lease_seconds=9)

    with caplog.at_level(logging.WARNING, logger="sleepy_factory.pooling"):
        open_role_pool(settings, name="limits", size=1).close()

    warnings = [r.getMessage() for r in caplog.records if r.name == "sleepy_factory.pooling"]
    assert len(warnings) == 1, warnings
    assert "ALTER ROLE" in warnings[0]
    assert "statement_timeout = '3000ms'" in warnings[0]
    assert "lock_timeout = '1500ms'" in warnings[0]
    assert "idle_in_transaction_session_timeout = '9000ms'" in warnings[0]


def test_limits_set_on_the_role_bound_statements_run_through_the_pooler(
    db_url: str, direct_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Set before the pooler opens a server session to this database: sessions take role settings
    # when they start (an operator tells PgBouncer to RECONNECT after changing them).
    settings = _pooled_settings(db_url, statement_timeout=1, lock_timeout=0.5)
    set_role_limits(direct_db_url, SessionLimits.for_role(settings))

    with caplog.at_level(logging.WARNING, logger="sleepy_factory.pooling"):
        pool = open_role_pool(settings, name="limited", size=1)
    try:
        with pool.connection() as own, pytest.raises(psycopg.errors.QueryCanceled):
            own.execute("SELECT pg_sleep(30)")
    finally:
        pool.close()

    assert [r for r in caplog.records if r.name == "sleepy_factory.pooling"] == []


def test_behind_the_pooler_roles_listen_on_the_direct_server_only(
    db_url: str, direct_db_url: str, conn: psycopg.Connection[Any]
) -> None:
    stop, wake = threading.Event(), threading.Event()
    supervisor = Supervisor(stop)
    channel = ready_channel("audio")
    assert start_listener(_pooled_settings(db_url), {channel: wake}, stop, supervisor) is None

    listening = _pooled_settings(db_url, listen_database_url=SecretStr(direct_db_url))
    try:
        assert start_listener(listening, {channel: wake}, stop, supervisor) is not None
        wait_until(wake.is_set, 30, what="the listener to connect")  # it wakes its role once listening
        wake.clear()
        conn.execute("SELECT pg_notify(%s, '')", (channel,))  # sent through the pooler
        wait_until(wake.is_set, 30, what="the notification sent through the pooler")
    finally:
        stop.set()
    supervisor.check()  # the listener thread never died


def test_a_role_not_told_about_the_pooler_stops_with_one_line_saying_what_to_set(
    sf_env: dict[str, str],
) -> None:
    env = {**sf_env, "SF_POOL_MODE": "session"}  # DATABASE_URL is still the pooler

    result = subprocess.run(
        [str(SF), "orchestrator-loop"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("sf: error:")]
    assert len(errors) == 1, result.stderr
    assert "unsupported startup parameter" in errors[0]
    assert "SF_POOL_MODE=transaction" in errors[0]
    assert "Traceback" not in result.stderr
