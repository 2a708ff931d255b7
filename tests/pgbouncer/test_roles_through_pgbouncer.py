"""The real role processes through PgBouncer in transaction mode: the pipeline drains, workers can
be killed at random, and no role (nor the pooler) ever logs an error caused by session state."""

from __future__ import annotations

import random
import re
import signal
import time
from collections import Counter
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from sleepy_factory.config import Settings
from sleepy_factory.pipeline import ALL_STAGES
from sleepy_factory.session_limits import SessionLimits

from tests.support.children import Child, Children
from tests.support.pgbouncer import (
    SERVER_SESSIONS_PER_DATABASE,
    SESSION_STATE_ERRORS,
    PgBouncer,
    set_role_limits,
)
from tests.support.rows import insert_jobs
from tests.support.sf_commands import done_stages, sf_new_job
from tests.support.stage_rows import status_counts

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

COMPLETED = re.compile(r"completed: job_id=(\S+) stage=(\S+) attempt=(\d+)")
# Sessions on this test's database other than the watcher's own: the pooler's, and direct listeners.
OTHER_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""
FAST = {"SF_SIM_SECONDS": "0.02", "SF_POLL_SECONDS": "0.3"}


def _start_factory(children: Children, env: dict[str, str], workers_per_stage: int) -> list[Child]:
    roles = [
        children.start("orchestrator", "orchestrator-loop", "--poll", "0.3", env=env),
        children.start("recovery", "recovery", "--poll", "0.5", env=env),
    ]
    for stage in ALL_STAGES:
        for n in range(workers_per_stage):
            roles.append(
                children.start(
                    f"worker-{stage}-{n}", "worker", "--stage", stage, "--concurrency", "2", env=env
                )
            )
    return roles


def _session_state_errors(logs: dict[str, str]) -> dict[str, list[str]]:
    found = {
        name: [line for line in text.splitlines() if any(marker in line for marker in SESSION_STATE_ERRORS)]
        for name, text in logs.items()
    }
    return {name: lines for name, lines in found.items() if lines}


def _pooler_log_of(pgbouncer: PgBouncer, url: str) -> str:
    """PgBouncer's log lines about this test's database (the log is shared by the session)."""
    database = str(conninfo_to_dict(url)["dbname"])
    return "\n".join(line for line in pgbouncer.log().splitlines() if database in line)


@pytest.mark.parametrize("listen", ["direct", "poll"])
def test_pipeline_drains_through_pgbouncer_with_no_session_state_errors(
    listen: str,
    pgbouncer: PgBouncer,
    db_url: str,
    direct_db_url: str,
    sf_env: dict[str, str],
    children: Children,
) -> None:
    jobs = 40
    env = {**FAST, **({"SF_LISTEN_DATABASE_URL": direct_db_url} if listen == "direct" else {})}
    roles = _start_factory(children, env, workers_per_stage=2)
    for role in roles:
        children.wait_for_log(role, "connected to", 60)
    # An operator's screen: the same queries again and again on one connection, through the pooler.
    status = children.start("status", "status", "--watch", "--interval", "0.1")
    sf_new_job(sf_env)  # the CLI goes through the pooler too
    server_sessions: list[int] = []

    def drained(watch: psycopg.Connection[Any]) -> bool:
        row = watch.execute(OTHER_SESSIONS).fetchone()
        server_sessions.append(int(row[0]) if row else 0)
        return done_stages(direct_db_url) == jobs * len(ALL_STAGES)

    with psycopg.connect(direct_db_url, autocommit=True) as watch:
        insert_jobs(watch, jobs - 1, topic="through the pooler")
        children.wait_until(
            lambda: drained(watch),
            120,
            what="every stage DONE",
            describe=lambda: str(status_counts(watch)),
            interval=0.2,
        )

    status.send(signal.SIGINT)
    for role in roles:
        role.send(signal.SIGTERM)
    exit_codes = {role.name: role.wait_exit(30) for role in [*roles, status]}

    assert exit_codes == {role.name: 0 for role in [*roles, status]}, children.describe()
    assert all(f":{pgbouncer.port}/" in role.log() for role in roles), "a role bypassed the pooler"
    # Eight role processes and an operator, each with a pool of connections, shared a few server
    # sessions (plus, with LISTEN on, one direct session per listening role).
    listeners = 0 if listen == "poll" else len(roles) - 1  # every role but recovery listens
    assert max(server_sessions) <= SERVER_SESSIONS_PER_DATABASE + listeners
    polling = [role.name for role in roles if "no LISTEN behind a transaction pooler" in role.log()]
    expect_polling = [] if listen == "direct" else [r.name for r in roles if r.name != "recovery"]
    assert polling == expect_polling
    completions = Counter((j, s) for role in roles for j, s, _ in COMPLETED.findall(role.log()))
    assert len(completions) == jobs * len(ALL_STAGES)
    assert set(completions.values()) == {1}
    logs = {role.name: role.log() for role in [*roles, status]}
    assert _session_state_errors(logs | {"pgbouncer": _pooler_log_of(pgbouncer, db_url)}) == {}


def test_workers_killed_at_random_through_pgbouncer_finish_every_job_once(
    pgbouncer: PgBouncer, db_url: str, direct_db_url: str, children: Children
) -> None:
    jobs = 60
    env = {
        "SF_SIM_SECONDS": "0.05",
        "SF_SIM_SECONDS_MAX": "0.3",
        "SF_LEASE_SECONDS": "2",
        "SF_POLL_SECONDS": "0.5",
        "SF_LISTEN_DATABASE_URL": direct_db_url,
    }
    set_role_limits(
        direct_db_url, SessionLimits.for_role(Settings(lease_seconds=float(env["SF_LEASE_SECONDS"])))
    )
    rng = random.Random(20261201)
    roles = [
        children.start("orchestrator", "orchestrator-loop", "--poll", "0.5", env=env),
        children.start("recovery", "recovery", "--poll", "0.5", env=env),
    ]
    slots: dict[str, Child] = {}
    spawned: list[Child] = []

    def spawn(slot: str) -> None:
        stage = slot.split("-")[1]
        child = children.start(
            f"{slot}-{len(spawned)}", "worker", "--stage", stage, "--concurrency", "2", env=env
        )
        slots[slot] = child
        spawned.append(child)

    for stage in ALL_STAGES:
        for n in range(2):
            spawn(f"worker-{stage}-{n}")
    with psycopg.connect(direct_db_url, autocommit=True) as watch:
        insert_jobs(watch, jobs, topic="chaos through the pooler")

    total = jobs * len(ALL_STAGES)
    kills = 0
    deadline = time.monotonic() + 200
    next_kill = time.monotonic() + 1.5
    while (done := done_stages(direct_db_url)) < total:
        assert time.monotonic() < deadline, (
            f"did not drain: {done}/{total} stages DONE\n{children.describe()}"
        )
        if time.monotonic() >= next_kill:
            slot = rng.choice(sorted(slots))
            slots[slot].send(signal.SIGKILL)
            slots[slot].wait_exit(10)
            spawn(slot)
            kills += 1
            next_kill = time.monotonic() + 1.5
        time.sleep(0.1)  # the chaos loop's tick

    with psycopg.connect(direct_db_url) as check:
        statuses: dict[str, Any] = dict(
            check.execute("SELECT status, count(*) FROM job_stages GROUP BY 1").fetchall()
        )
    assert statuses == {"DONE": total}
    completions = Counter((j, s) for child in spawned for j, s, _ in COMPLETED.findall(child.log()))
    assert max(completions.values()) == 1, "a stage was completed more than once"
    assert kills >= 1
    logs = {c.name: c.log() for c in [*roles, *spawned]} | {"pgbouncer": _pooler_log_of(pgbouncer, db_url)}
    assert _session_state_errors(logs) == {}
    assert [name for name, text in logs.items() if "ALTER ROLE" in text] == [], "limits not in force"
