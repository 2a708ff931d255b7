"""The orchestrator loop: promote whatever is due, then wait a poll interval."""

from __future__ import annotations

import threading

from sleepy_factory.runtime import Pool, run_loop

from sf_orchestrator.transitions import promote_ready_stages


def orchestrate_once(pool: Pool) -> int:
    with pool.connection() as conn:
        return promote_ready_stages(conn)


def run_orchestrator(pool: Pool, stop: threading.Event, poll: float) -> None:
    """Run passes every `poll` seconds until `stop` is set; database outages are ridden out."""
    run_loop(lambda: orchestrate_once(pool), what="orchestrator", interval=poll, stop=stop)
