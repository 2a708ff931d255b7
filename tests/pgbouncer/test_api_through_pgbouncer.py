"""`sf api` behind PgBouncer in transaction mode: its live feed LISTENs only on a session of its own
(SF_LISTEN_DATABASE_URL), never through the pooler, and without one it reads the changes on a timer;
either way a browser's event stream sees a job's stages change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from sf_api.feed import LISTENER_NAME

from tests.support.api_server import start_api
from tests.support.children import Children
from tests.support.pgbouncer import PgBouncer
from tests.web.test_api import _read_events

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# Server sessions of this database whose last statement was a LISTEN: their pids and names.
LISTENING = """
SELECT pid, application_name FROM pg_stat_activity
WHERE datname = current_database() AND query ILIKE 'LISTEN%'
"""


def _pooler_server_pids(pgbouncer: PgBouncer) -> set[int]:
    """The server sessions PgBouncer holds, from its admin console (simple query protocol only)."""
    with psycopg.connect(
        pgbouncer.url("pgbouncer"), autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as admin:
        cursor = admin.execute("SHOW SERVERS")
        assert cursor.description is not None
        column = [d.name for d in cursor.description].index("remote_pid")
        return {int(row[column]) for row in cursor.fetchall()}


@pytest.mark.parametrize("listen", ["direct", "poll"])
def test_the_live_feed_never_listens_through_the_pooler(
    listen: str, pgbouncer: PgBouncer, direct_db_url: str, children: Children, tmp_path: Path
) -> None:
    env = {"SF_LISTEN_DATABASE_URL": direct_db_url} if listen == "direct" else {}
    api = start_api(children, tmp_path / "artifacts", env=env)

    with psycopg.connect(direct_db_url, autocommit=True) as watch:

        def listening() -> list[tuple[Any, ...]]:
            return [tuple(row) for row in watch.execute(LISTENING).fetchall()]

        if listen == "direct":
            children.wait_until(lambda: len(listening()) == 1, 30, what="the feed's LISTEN session")
        else:
            children.wait_for_log(api.child, "reading changes every", 30)
        with api.client() as http:
            job_id = http.post("/api/jobs", json={"topic": "owls behind a pooler"}).json()["ids"][0]
            with http.stream("GET", "/api/events", params={"job": job_id}) as stream:
                http.post(f"/api/jobs/{job_id}/cancel").raise_for_status()
                seen = _read_events(stream, 3)
        sessions = listening()

    assert len(seen) == 3 and all('"CANCELLED"' in event["data"] for event in seen)
    if listen == "direct":
        [(pid, name)] = sessions
        assert name == LISTENER_NAME
        assert pid not in _pooler_server_pids(pgbouncer)  # its own session, not one of the pooler's
    else:
        assert sessions == []
