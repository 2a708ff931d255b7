"""Start each role from settings: the wiring shared by the role commands and `sf dev`."""

from __future__ import annotations

import logging
import threading

from sf_orchestrator import run_orchestrator
from sf_recovery import run_recovery
from sf_worker import Worker, handler_for
from sleepy_factory.config import Settings
from sleepy_factory.runtime import Pool, open_role_pool

log = logging.getLogger(__name__)


def orchestrator_loop(settings: Settings, stop: threading.Event, poll: float) -> None:
    pool = open_role_pool(settings, name="orchestrator", size=2)
    try:
        run_orchestrator(pool, stop, poll)
    finally:
        pool.close()


def recovery_loop(settings: Settings, stop: threading.Event, poll: float) -> None:
    pool = open_role_pool(settings, name="recovery", size=2)
    try:
        run_recovery(pool, settings, stop, poll)
    finally:
        pool.close()


def worker_loop(settings: Settings, stop: threading.Event, stage: str, concurrency: int) -> None:
    # Handler threads, the claim loop and the heartbeat each may hold a connection at once.
    pool = open_role_pool(settings, name=f"worker-{stage}", size=concurrency + 2)
    try:
        run_worker(pool, settings, stop, stage, concurrency)
    finally:
        pool.close()


def run_worker(pool: Pool, settings: Settings, stop: threading.Event, stage: str, concurrency: int) -> None:
    worker = Worker(
        pool, settings, stage=stage, handler=handler_for(stage, settings), concurrency=concurrency
    )
    worker.run(stop)
