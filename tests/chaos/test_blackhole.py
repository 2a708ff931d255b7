"""A half-open connection: the database stops answering but every socket stays open (a proxy
holds the bytes). Roles connected through it must notice within their lease instead of hanging
in a statement, and finish every job once the server answers again."""

from __future__ import annotations

import time

import psycopg
import pytest
from sleepy_factory.pipeline import ALL_STAGES

from tests.support.blackhole_proxy import blackhole_proxy
from tests.support.children import Child, Children
from tests.support.rows import insert_jobs
from tests.support.sf_commands import done_stages

pytestmark = pytest.mark.e2e

JOBS = 30
LEASE_SECONDS = 12.0
ROLE_ENV = {
    "SF_LEASE_SECONDS": str(LEASE_SECONDS),
    "SF_POLL_SECONDS": "0.2",
    "SF_SIM_SECONDS": "0.1",
    "SF_SIM_SECONDS_MAX": "0.4",
}
NO_REPLY = "database unavailable (no reply from the database server within"


def test_roles_behind_a_silent_server_notice_within_their_lease_and_recover(
    own_db_url: str, own_children: Children
) -> None:
    with blackhole_proxy(own_db_url) as proxy:
        through_proxy = {**ROLE_ENV, "DATABASE_URL": proxy.url}
        # Recovery talks to the server directly: it must requeue what the cut-off workers held.
        own_children.start("recovery", "recovery", "--poll", "0.5", env=ROLE_ENV)
        cut_off: list[Child] = [
            own_children.start("orchestrator", "orchestrator-loop", "--poll", "0.2", env=through_proxy),
            *(
                own_children.start(
                    f"worker-{stage}", "worker", "--stage", stage, "--concurrency", "2", env=through_proxy
                )
                for stage in ALL_STAGES
            ),
        ]
        with psycopg.connect(own_db_url, autocommit=True) as conn:
            insert_jobs(conn, JOBS, topic="blackhole")
        total = JOBS * len(ALL_STAGES)
        own_children.wait_until(
            lambda: done_stages(own_db_url) >= total // 4, 60, what="a quarter of the stages DONE"
        )

        proxy.hold()
        noticed_by = time.monotonic() + LEASE_SECONDS
        for child in cut_off:
            # A statement gave up on the silent server instead of waiting for ever. Timed from
            # the hold, so a role looked at later gets no extra time.
            left = max(0.1, noticed_by - time.monotonic())
            own_children.wait_for_log(child, NO_REPLY, left)
        done_while_cut_off = done_stages(own_db_url)
        proxy.resume()

        own_children.wait_until(
            lambda: done_stages(own_db_url) == total, 120, what="every stage DONE", interval=0.2
        )
        for child in cut_off:
            own_children.wait_for_log(child, "database reachable again", 30)
        own_children.check_alive()

    with psycopg.connect(own_db_url) as conn:
        errors = conn.execute("SELECT count(*) FROM job_stages WHERE status = 'ERROR'").fetchone()
    assert errors == (0,)
    assert done_while_cut_off < total, "the jobs finished before the server went silent"
