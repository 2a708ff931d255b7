"""KEDA's depth queries, exactly as rendered into the ScaledObjects, against a real Postgres.

Each worker stage scales on `due READY + RUNNING` rows of its stage. These tests read the query
strings from `kubectl kustomize deploy/kubernetes/base` (never a copy), run them as a role that may
only SELECT job_stages (what docs/scaling.md asks KEDA's connection to be), and check that they count
the right rows in every state, stay on the partial indexes, and cost the same with 1,000,000
finished jobs in the table as with none.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sleepy_factory.pipeline import ALL_STAGES, STATUSES

from tests.support.manifests import BASE, depth_queries, render

Conn = psycopg.Connection[Any]

INDEX_SCANS = ("Index Only Scan", "Index Scan", "Bitmap Index Scan", "Bitmap Heap Scan")
PARTIAL_INDEXES = {"ix_job_stages_ready", "ix_job_stages_running_lease"}
FINISHED_JOBS = 1_000_000
FEW_FINISHED_JOBS = 10_000  # enough history that the planner prefers the indexes already

# The least a KEDA connection needs: connect, see the schema, read job_stages.
KEDA_GRANTS = (
    "CREATE ROLE {role} LOGIN PASSWORD {password}",
    "GRANT CONNECT ON DATABASE {database} TO {role}",
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT ON job_stages TO {role}",
)

# One job per stage row, so any mix of states per stage can be laid out; a RUNNING row holds a
# lease (the table's check), expired or not; a READY row is due unless run_after is ahead.
INSERT_JOB = "INSERT INTO jobs (format, topic) VALUES ('short', 'keda') RETURNING id"
INSERT_STAGE = """
INSERT INTO job_stages (job_id, stage, position, status, lease_owner, lease_expires_at, run_after)
VALUES (%(job_id)s, %(stage)s, 0, %(status)s::text,
        CASE WHEN %(status)s::text = 'RUNNING' THEN 'some-worker' END,
        CASE WHEN %(status)s::text = 'RUNNING' THEN now() + make_interval(secs => %(lease_in)s) END,
        now() + make_interval(secs => %(run_in)s))
"""

# A factory's history: jobs whose every stage is DONE, numbered from %(first)s. Their ids count up
# (so the primary keys grow at one edge and the arrangement stays quick); the queries never read
# them: the partial indexes hold no DONE row.
ARRANGE_HISTORY = """
WITH job AS (
    INSERT INTO jobs (id, format, topic)
    SELECT lpad(to_hex(n), 32, '0')::uuid, 'sleepy', 'finished ' || n
    FROM generate_series(%(first)s, %(first)s + %(jobs)s - 1) AS n
    RETURNING id
)
INSERT INTO job_stages
    (job_id, stage, position, status, attempt, started_at, finished_at, run_after, change_seq)
SELECT job.id, s.stage, s.position, 'DONE', 1, now() - interval '2 days', now() - interval '1 day',
       now() - interval '2 days', nextval('job_stages_change_seq')
FROM job
CROSS JOIN (VALUES ('audio', 0), ('visuals', 1), ('render', 2)) AS s(stage, position)
"""


SEQ_SCAN_COST = """
SELECT relpages * current_setting('seq_page_cost')::float8
       + reltuples * current_setting('cpu_tuple_cost')::float8
FROM pg_class WHERE oid = 'job_stages'::regclass
"""


@dataclass(frozen=True)
class Layout:
    """How many rows of one stage to lay out in each state."""

    ready_due: int
    ready_later: int  # backing off after a failure: not claimable yet, not counted
    running: int
    running_expired: int  # lease ran out, recovery has not requeued it yet: still counted
    others: int  # of each of NEW, DONE, ERROR, CANCELLED

    @property
    def depth(self) -> int:
        return self.ready_due + self.running + self.running_expired


LAYOUTS = {
    "audio": Layout(ready_due=3, ready_later=2, running=1, running_expired=1, others=2),
    "visuals": Layout(ready_due=0, ready_later=1, running=4, running_expired=0, others=3),
    "render": Layout(ready_due=5, ready_later=0, running=0, running_expired=2, others=1),
}


@pytest.fixture(scope="module")
def queries() -> dict[str, str]:
    found = depth_queries(render(BASE))
    assert set(found) == set(ALL_STAGES)
    return found


@pytest.fixture
def keda_conn(db_url: str, conn: Conn) -> Iterator[Conn]:
    """A connection as a fresh role granted only what KEDA needs; dropped afterwards."""
    role = f"sf_keda_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(16)
    names = {
        "role": sql.Identifier(role),
        "password": sql.Literal(password),
        "database": sql.Identifier(conn.info.dbname),
    }
    for statement in KEDA_GRANTS:
        conn.execute(sql.SQL(statement).format(**names))
    try:
        with psycopg.connect(db_url, user=role, password=password, autocommit=True) as keda:
            yield keda
    finally:
        conn.execute(sql.SQL("DROP OWNED BY {role}").format(**names))
        conn.execute(sql.SQL("DROP ROLE {role}").format(**names))


def lay_out(conn: Conn, stage: str, layout: Layout) -> None:
    rows: list[tuple[str, float, float]] = [  # (status, lease expires in s, runnable in s)
        *[("READY", 0, -60)] * layout.ready_due,
        *[("READY", 0, 600)] * layout.ready_later,
        *[("RUNNING", 30, -60)] * layout.running,
        *[("RUNNING", -30, -60)] * layout.running_expired,
        *[(status, 0, -60) for status in STATUSES if status not in ("READY", "RUNNING")] * layout.others,
    ]
    for status, lease_in, run_in in rows:
        job = conn.execute(INSERT_JOB).fetchone()
        assert job is not None
        params = {"job_id": job[0], "stage": stage, "status": status, "lease_in": lease_in, "run_in": run_in}
        conn.execute(INSERT_STAGE, params)


def depth(conn: Conn, query: str) -> int:
    row = conn.execute(query).fetchone()
    assert row is not None
    value = row[0]
    assert isinstance(value, int), f"KEDA needs a number, got {value!r}"
    return value


@dataclass(frozen=True)
class Plan:
    nodes: list[dict[str, Any]]
    cost: float
    buffers: int  # shared buffers hit or read while executing

    @property
    def rows_visited(self) -> int:
        """Rows the scans of job_stages returned, summed over their loops."""
        return sum(
            int(node["Actual Rows"]) * int(node["Actual Loops"])
            for node in self.nodes
            if node.get("Relation Name") == "job_stages"
        )

    def scans_of(self, relation: str) -> list[tuple[str, str | None]]:
        return [
            (node["Node Type"], node.get("Index Name"))
            for node in self.nodes
            if node.get("Relation Name") == relation
        ]


def explain(conn: Conn, query: str) -> Plan:
    row = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}").fetchone()
    assert row is not None
    document = row[0] if isinstance(row[0], list) else json.loads(row[0])
    top = document[0]["Plan"]
    nodes: list[dict[str, Any]] = []
    pending = [top]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    buffers = int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])
    return Plan(nodes, float(top["Total Cost"]), buffers)


def seq_scan_cost(conn: Conn) -> float:
    """The planner's cost of reading job_stages whole (seq_page_cost and cpu_tuple_cost at defaults)."""
    row = conn.execute(SEQ_SCAN_COST).fetchone()
    assert row is not None
    return float(row[0])


def test_depth_counts_due_ready_and_running_rows_of_its_stage(
    conn: Conn, keda_conn: Conn, queries: dict[str, str]
) -> None:
    for stage, layout in LAYOUTS.items():
        lay_out(conn, stage, layout)
    for stage, layout in LAYOUTS.items():
        assert depth(keda_conn, queries[stage]) == layout.depth, stage


def test_depth_is_zero_on_an_empty_queue(keda_conn: Conn, queries: dict[str, str]) -> None:
    """Zero, not NULL: the render stage scales to zero on it."""
    for stage in ALL_STAGES:
        assert depth(keda_conn, queries[stage]) == 0


def test_depth_stays_on_the_partial_indexes_and_flat_with_a_million_finished_jobs(
    conn: Conn, keda_conn: Conn, queries: dict[str, str]
) -> None:
    for stage, layout in LAYOUTS.items():
        lay_out(conn, stage, layout)
    conn.execute(ARRANGE_HISTORY, {"first": 1, "jobs": FEW_FINISHED_JOBS})
    conn.execute("ANALYZE job_stages")
    few = {stage: explain(keda_conn, query) for stage, query in queries.items()}

    started = time.monotonic()
    more = FINISHED_JOBS - FEW_FINISHED_JOBS
    with conn.transaction():
        # A bulk load, as pg_restore does it: the rows reference jobs inserted by the same
        # statement, so the per-row foreign-key checks (most of the time) are skipped. Triggers
        # are skipped too, so the statement numbers the rows' changes itself.
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(ARRANGE_HISTORY, {"first": FEW_FINISHED_JOBS + 1, "jobs": more})
    conn.execute("ANALYZE job_stages")
    arranged_in = time.monotonic() - started
    total = conn.execute("SELECT count(*) FROM job_stages WHERE status = 'DONE'").fetchone()
    assert total is not None and total[0] >= 3 * FINISHED_JOBS

    for stage, query in queries.items():
        plans = {"few": few[stage], "million": explain(keda_conn, query)}
        for label, plan in plans.items():
            scans = plan.scans_of("job_stages")
            assert scans, f"{stage}/{label}: no scan of job_stages in the plan"
            for node_type, _ in scans:
                assert node_type in INDEX_SCANS, (stage, label, scans)
            used = {index for node in plan.nodes if (index := node.get("Index Name"))}
            assert used and used <= PARTIAL_INDEXES, (stage, label, used)
        # The same work with 3,000,000 DONE rows as with 30,000: the same index entries visited and
        # the same pages read, because the partial indexes never held a DONE row. (The planner's
        # estimate moves with ANALYZE's sample of a 3M-row table, where it must guess how few rows
        # are live, so it is only held far below a sequential scan's.)
        before, after = plans["few"], plans["million"]
        assert after.rows_visited == before.rows_visited, (stage, before.rows_visited, after.rows_visited)
        assert after.buffers <= before.buffers + 1, (stage, before.buffers, after.buffers)
        assert after.cost < 0.05 * seq_scan_cost(conn), (stage, after.cost)
        assert depth(keda_conn, query) == LAYOUTS[stage].depth
        print(
            f"{stage}: cost {before.cost} -> {after.cost}, buffers {before.buffers} -> {after.buffers}, "
            f"rows {before.rows_visited} -> {after.rows_visited}"
        )
    print(f"arranged {FINISHED_JOBS:,} finished jobs in {arranged_in:.1f} s")
