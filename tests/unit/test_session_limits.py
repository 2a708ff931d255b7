"""Role session limits: derived from the lease unless set, overridable per variable, never
overriding what DATABASE_URL itself says."""

from __future__ import annotations

import os

import pytest
from sleepy_factory.config import Settings, load_settings
from sleepy_factory.errors import ConfigError
from sleepy_factory.session_limits import SessionLimits

URL = "postgresql://u@db.example/app"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("SF_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


@pytest.mark.parametrize("lease", [6.0, 12.0, 30.0, 300.0])
def test_a_hung_heartbeat_gives_up_before_the_lease_it_extends_runs_out(lease: float) -> None:
    limits = SessionLimits.for_role(Settings(lease_seconds=lease))
    # The heartbeat runs every lease/3; its statement must fail before that lease ends.
    assert lease / 3 + limits.reply_timeout <= lease
    # The server cancels first, with a clear error, while the connection is still fine.
    assert 0 < limits.lock_timeout <= limits.statement_timeout < limits.reply_timeout


def test_tiny_test_leases_keep_floors_a_busy_machine_can_meet() -> None:
    limits = SessionLimits.for_role(Settings(lease_seconds=0.5))
    assert limits == SessionLimits(1.0, 1.0, 5.0, 2.0)


def test_defaults_for_the_default_lease() -> None:
    limits = SessionLimits.for_role(load_settings())
    assert limits == SessionLimits(
        statement_timeout=10.0,
        lock_timeout=5.0,
        idle_in_transaction_timeout=30.0,
        reply_timeout=15.0,
        tcp_keepalives=True,
    )


def test_each_limit_comes_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_STATEMENT_TIMEOUT", "120")
    monkeypatch.setenv("SF_LOCK_TIMEOUT", "7")
    monkeypatch.setenv("SF_IDLE_IN_TRANSACTION_TIMEOUT", "0")
    monkeypatch.setenv("SF_REPLY_TIMEOUT", "150")
    monkeypatch.setenv("SF_TCP_KEEPALIVES", "false")

    limits = SessionLimits.for_role(load_settings())

    assert limits == SessionLimits(120.0, 7.0, 0.0, 150.0, tcp_keepalives=False)
    params = limits.conninfo(URL)
    assert params == {"options": "-c statement_timeout=120000 -c lock_timeout=7000"}


def test_conninfo_sets_server_timeouts_and_tcp_keepalives() -> None:
    params = SessionLimits(10.0, 5.0, 30.0, 15.0).conninfo(URL)
    assert params == {
        "options": "-c statement_timeout=10000 -c lock_timeout=5000 "
        "-c idle_in_transaction_session_timeout=30000",
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 15000,
    }


def test_what_database_url_says_wins() -> None:
    url = URL + "?options=-c%20statement_timeout%3D0%20-c%20search_path%3Dapp&keepalives_idle=60"
    params = SessionLimits(10.0, 5.0, 30.0, 15.0).conninfo(url)
    assert params["options"] == (
        "-c statement_timeout=0 -c search_path=app -c lock_timeout=5000 "
        "-c idle_in_transaction_session_timeout=30000"
    )
    assert "keepalives_idle" not in params


def test_all_zero_sends_no_options_at_all() -> None:
    # Poolers in transaction mode (PgBouncer) refuse the `options` startup parameter.
    assert SessionLimits(0.0, 0.0, 0.0, 0.0).conninfo(URL) == {}


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SF_STATEMENT_TIMEOUT", "-1"), ("SF_REPLY_TIMEOUT", "soon"), ("SF_MAX_LEASE_LOSSES", "0")],
)
def test_a_bad_limit_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()
