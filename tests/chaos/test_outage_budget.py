"""A database outage is not a handler failure: a stage whose worker is cut off from the database
more often than SF_MAX_ATTEMPTS allows failures, losing its lease each time, still ends DONE."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.blackhole_proxy import blackhole_proxy
from tests.support.children import Children
from tests.support.rows import insert_jobs

pytestmark = pytest.mark.e2e

DEFAULT_MAX_ATTEMPTS = 5
OUTAGES = DEFAULT_MAX_ATTEMPTS + 1
ROLE_ENV = {"SF_LEASE_SECONDS": "3", "SF_POLL_SECONDS": "0.2", "SF_SIM_SECONDS": "4"}


def _audio(url: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT status, attempt, failures, lease_losses, last_error FROM job_stages WHERE stage = 'audio'"
        ).fetchone()
    assert row is not None
    return row


def _await(children: Children, url: str, what: str, **expected: object) -> None:
    """Wait until the audio stage's row has every `expected` value."""
    children.wait_until(
        lambda: all(_audio(url)[key] == value for key, value in expected.items()),
        60,
        what=what,
        describe=lambda: str(_audio(url)),
    )


def test_a_stage_cut_off_more_often_than_its_failure_budget_still_ends_done(
    own_db_url: str, own_children: Children
) -> None:
    with psycopg.connect(own_db_url, autocommit=True) as conn:
        insert_jobs(conn, 1, topic="outages")
        conn.execute("UPDATE job_stages SET status = 'READY' WHERE stage = 'audio'")
    with blackhole_proxy(own_db_url) as proxy:
        # Recovery reaches the server directly; the worker only through the proxy.
        own_children.start("recovery", "recovery", "--poll", "0.3", env=ROLE_ENV)
        own_children.start(
            "worker-audio", "worker", "--stage", "audio", env={**ROLE_ENV, "DATABASE_URL": proxy.url}
        )
        for outage in range(1, OUTAGES + 1):
            _await(own_children, own_db_url, f"attempt {outage} RUNNING", status="RUNNING", attempt=outage)
            proxy.hold()  # the worker's database goes silent mid-run; its lease runs out
            # Recovery requeues it; the cut-off worker cannot claim it back until the proxy resumes.
            _await(own_children, own_db_url, f"lost lease {outage} requeued", status="READY", attempt=outage)
            proxy.resume()

        _await(own_children, own_db_url, "audio DONE after the outages", status="DONE")

    final = _audio(own_db_url)
    assert (final["failures"], final["lease_losses"]) == (0, OUTAGES)
    assert final["attempt"] == OUTAGES + 1
