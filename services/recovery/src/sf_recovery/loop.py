"""The recovery loop: requeue every expired lease, then wait a poll interval."""

from __future__ import annotations

import threading

from sleepy_factory.config import Settings
from sleepy_factory.queue import requeue_expired
from sleepy_factory.runtime import Pool, run_loop


def recover_once(pool: Pool, settings: Settings) -> int:
    with pool.connection() as conn:
        return requeue_expired(conn, max_attempts=settings.max_attempts)


def run_recovery(pool: Pool, settings: Settings, stop: threading.Event, poll: float) -> None:
    """Requeue expired stages every `poll` seconds until `stop` is set."""
    run_loop(lambda: recover_once(pool, settings), what="recovery", interval=poll, stop=stop)
