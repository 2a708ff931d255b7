"""The database goes away mid-run, twice: every role reconnects on its own, says so once per
outage (not once per retry), and every job still ends DONE."""

from __future__ import annotations

import re
import time

import psycopg
import pytest
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import ALL_STAGES, Format

from tests.support.children import Children
from tests.support.own_server import OwnServer
from tests.support.sf_commands import done_stages

pytestmark = pytest.mark.e2e

JOBS = 120
OUTAGE_SECONDS = 2.0
UNAVAILABLE = re.compile(r"database unavailable")
BACK = re.compile(r"database reachable again after (\d+) retries")


def test_every_role_rides_out_two_postgres_restarts(
    own_server: OwnServer, own_db_url: str, own_children: Children
) -> None:
    with psycopg.connect(own_db_url, autocommit=True) as conn:
        for n in range(JOBS):
            create_job(conn, fmt=Format.SHORT, topic=f"restart {n}")
    env = {
        "SF_SIM_SECONDS": "0.05",
        "SF_SIM_SECONDS_MAX": "0.2",
        "SF_LEASE_SECONDS": "4",
        "SF_POLL_SECONDS": "0.2",
    }
    roles = [
        own_children.start("orchestrator", "orchestrator-loop", "--poll", "0.2", env=env),
        own_children.start("recovery", "recovery", "--poll", "0.5", env=env),
        *(
            own_children.start(f"worker-{stage}", "worker", "--stage", stage, "--concurrency", "3", env=env)
            for stage in ALL_STAGES
        ),
    ]
    total = JOBS * len(ALL_STAGES)
    for fraction in (0.2, 0.5):
        target = total * fraction
        own_children.wait_until(
            lambda: done_stages(own_db_url) >= target,  # noqa: B023 (awaited before the loop moves on)
            60,
            what=f"{fraction:.0%} of the stages DONE before the next outage",
        )
        own_server.stop()
        time.sleep(OUTAGE_SECONDS)  # the fault itself: the database stays away this long
        own_server.start()

    own_children.wait_until(
        lambda: done_stages(own_db_url) == total, 90, what="every stage DONE", interval=0.2
    )
    with psycopg.connect(own_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM job_stages WHERE status = 'ERROR'").fetchone() == (0,)

    retries_behind_one_line = 0
    for role in roles:
        log = role.log()
        outages, recoveries = len(UNAVAILABLE.findall(log)), BACK.findall(log)
        assert outages >= 1, f"{role.name} never noticed the outages\n{role.tail()}"
        # Each of a role's loops says "unavailable" once per outage and "reachable again" once
        # after it, however many times it retried in between.
        assert outages <= 2 * 5, f"{role.name} logged every retry\n{role.tail(60)}"
        retries_behind_one_line = max(retries_behind_one_line, *(int(n) for n in recoveries or ["0"]))
    assert retries_behind_one_line >= 2, "some loop must have retried several times behind one line"
