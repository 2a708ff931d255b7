"""Behind a transaction pooler: what SF_POOL_MODE, SF_PREPARE_THRESHOLD and SF_LISTEN_DATABASE_URL
change in the roles' connections, and that direct connections keep their defaults."""

from __future__ import annotations

import os

import pytest
from sleepy_factory.config import Settings, load_settings
from sleepy_factory.errors import ConfigError
from sleepy_factory.pooling import PSYCOPG_PREPARE_THRESHOLD, listen_url, prepare_threshold
from sleepy_factory.session_limits import SessionLimits

URL = "postgresql://u@pooler.example:6432/app"
DIRECT = "postgresql://u@db.example:5432/app"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("SF_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


@pytest.mark.parametrize(
    ("mode", "given", "expected"),
    [
        ("session", None, PSYCOPG_PREPARE_THRESHOLD),  # direct connections: unchanged
        ("transaction", None, None),  # PgBouncer < 1.21 cannot carry prepared statements
        ("transaction", "5", 5),  # PgBouncer >= 1.21 with max_prepared_statements
        ("session", "off", None),
        ("session", "0", 0),
    ],
)
def test_prepared_statements_follow_the_pool_mode_unless_set(
    monkeypatch: pytest.MonkeyPatch, mode: str, given: str | None, expected: int | None
) -> None:
    monkeypatch.setenv("SF_POOL_MODE", mode)
    if given is not None:
        monkeypatch.setenv("SF_PREPARE_THRESHOLD", given)
    assert prepare_threshold(load_settings()) == expected


def test_behind_a_transaction_pooler_no_startup_options_are_sent() -> None:
    limits = SessionLimits.for_role(Settings(pool_mode="transaction"))
    params = limits.conninfo(URL)
    assert "options" not in params
    assert params["tcp_user_timeout"] > 0  # client-side limits still apply
    assert limits.server_milliseconds()  # and are still wanted, on the database role


def test_direct_connections_still_send_their_limits_at_startup() -> None:
    assert "statement_timeout" in SessionLimits.for_role(Settings()).conninfo(DIRECT)["options"]


def test_listen_goes_to_the_direct_url_or_nowhere_behind_a_transaction_pooler() -> None:
    assert listen_url(Settings(), DIRECT) == DIRECT
    assert listen_url(Settings(pool_mode="transaction"), URL) is None
    pooled = Settings(pool_mode="transaction", listen_database_url=DIRECT)
    assert listen_url(pooled, URL) == DIRECT


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SF_POOL_MODE", "statement"), ("SF_PREPARE_THRESHOLD", "-1"), ("SF_PREPARE_THRESHOLD", "sometimes")],
)
def test_a_bad_pooler_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_a_bad_listen_url_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_LISTEN_DATABASE_URL", "postgresql://u:s3cret@h/db?bogus_option=1")
    with pytest.raises(ConfigError, match="SF_LISTEN_DATABASE_URL") as raised:
        load_settings()
    assert "s3cret" not in str(raised.value)
