"""The raw floor: a bare SKIP LOCKED claim + complete loop with our batch size, no framework.

What Postgres on this machine can do for a queue at all; `sf bench` prints ours as a ratio of it.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

from sleepy_factory.db import connect

# A logged table like job_stages, so durability costs are the same as ours.
CREATE_FLOOR = """
CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, status text NOT NULL);
TRUNCATE bench_floor;
CREATE INDEX IF NOT EXISTS bench_floor_ready ON bench_floor (id) WHERE status = 'READY';
"""
FILL_FLOOR = "INSERT INTO bench_floor (status) SELECT 'READY' FROM generate_series(1, %(rows)s)"
CLAIM_FLOOR = """
WITH picked AS (
    SELECT id FROM bench_floor WHERE status = 'READY' ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED
)
UPDATE bench_floor AS f SET status = 'RUNNING' FROM picked WHERE f.id = picked.id RETURNING f.id
"""
COMPLETE_FLOOR = "UPDATE bench_floor SET status = 'DONE' WHERE id = ANY(%(ids)s)"
DROP_FLOOR = "DROP TABLE IF EXISTS bench_floor"


def _drain(url: str, batch: int, start: threading.Barrier) -> None:
    with connect(url) as conn:
        start.wait()
        while True:
            ids = [row[0] for row in conn.execute(CLAIM_FLOOR, {"batch": batch}, prepare=True).fetchall()]
            if not ids:
                return
            conn.execute(COMPLETE_FLOOR, {"ids": ids}, prepare=True)


def measure_floor(url: str, *, rows: int, clients: int, batch: int) -> float:
    """Rows per second claimed and completed by `clients` processes."""
    with connect(url) as conn:
        conn.execute(CREATE_FLOOR)
        conn.execute(FILL_FLOOR, {"rows": rows})
        conn.execute("ANALYZE bench_floor")
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(clients + 1)  # time only the draining, not interpreter start-up
    processes = [context.Process(target=_drain, args=(url, batch, start)) for _ in range(clients)]
    for process in processes:
        process.start()
    start.wait()
    started = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    with connect(url) as conn:
        conn.execute(DROP_FLOOR)
    return rows / elapsed
