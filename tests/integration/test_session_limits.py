"""Role connections carry their limits to the server and give up on a silent one; connections for
migrations and one-off commands carry none."""

from __future__ import annotations

import os
import subprocess
import time

import psycopg
import pytest
from sleepy_factory.config import load_settings
from sleepy_factory.db import connect, open_pool
from sleepy_factory.runtime import open_role_pool
from sleepy_factory.session_limits import NoReplyError, SessionLimits

from tests.support.blackhole_proxy import blackhole_proxy
from tests.support.children import SF

SHOW_LIMITS = """
SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),
       current_setting('idle_in_transaction_session_timeout')
"""
LIMITS = SessionLimits(
    statement_timeout=1.0, lock_timeout=1.0, idle_in_transaction_timeout=5.0, reply_timeout=3.0
)


def test_a_role_pool_sets_the_server_limits_derived_from_the_lease(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SF_LEASE_SECONDS", "12")
    monkeypatch.setenv("SF_LOCK_TIMEOUT", "0.25")
    pool = open_role_pool(load_settings(), name="test-limits", size=1)
    try:
        with pool.connection() as conn:
            assert conn.execute(SHOW_LIMITS).fetchone() == ("4s", "250ms", "12s")
    finally:
        pool.close()


def test_a_statement_past_its_timeout_is_cancelled_and_the_connection_lives_on(db_url: str) -> None:
    with connect(db_url, limits=LIMITS) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(30)")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_connections_for_commands_and_migrations_have_no_limits(db_url: str) -> None:
    with connect(db_url) as conn:
        assert conn.execute(SHOW_LIMITS).fetchone() == ("0", "0", "0")


def test_sf_migrate_is_not_bound_by_the_role_limits(empty_db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(DATABASE_URL=empty_db_url, SF_STATEMENT_TIMEOUT="0.001", SF_LOCK_TIMEOUT="0.001")

    result = subprocess.run(
        [SF, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stderr


def test_a_silent_server_fails_the_statement_and_the_pool_replaces_the_connection(db_url: str) -> None:
    with blackhole_proxy(db_url) as proxy:
        pool = open_pool(proxy.url, max_size=1, name="test-silent", limits=LIMITS)
        try:
            with pool.connection() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            proxy.hold()
            started = time.monotonic()
            with pytest.raises(NoReplyError), pool.connection() as conn:
                conn.execute("SELECT 2")
            waited = time.monotonic() - started
            proxy.resume()

            with pool.connection(timeout=30) as conn:
                assert conn.execute("SELECT 3").fetchone() == (3,)
        finally:
            pool.close()
    assert waited >= LIMITS.reply_timeout  # it waited for a reply, then gave up (not hung)


def test_a_listen_wait_with_its_own_timeout_is_not_cut_short(db_url: str) -> None:
    # notifies(timeout=...) waits longer than the reply timeout without closing the connection.
    with connect(db_url, limits=SessionLimits(1.0, 1.0, 5.0, reply_timeout=0.5)) as conn:
        conn.execute("LISTEN sf_test")
        received = list(conn.notifies(timeout=1.5))
        assert not conn.closed
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert received == []
