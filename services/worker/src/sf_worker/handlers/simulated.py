"""A stand-in for real media work, for tests, benchmarks and chaos runs.

Takes SF_SIM_SECONDS (or a random time up to SF_SIM_SECONDS_MAX), fails with probability
SF_SIM_FAIL_RATE, and always fails for jobs whose topic contains SF_SIM_FAIL_TOPIC. With
SF_SIM_ARTIFACT_BYTES it also publishes a file of that size, so runs exercise the artifact store.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from sleepy_factory.handlers import StageCancelledError, StageContext
from sleepy_factory.queue import JobSpec


class SimulatedFailureError(RuntimeError):
    """The failure a simulated handler raises on purpose."""


class SimulatedHandler:
    def __init__(
        self,
        *,
        seconds: float,
        fail_rate: float,
        seconds_max: float | None = None,
        fail_topic: str | None = None,
        rng: random.Random | None = None,
        artifact_bytes: int = 0,
    ) -> None:
        self._artifact_bytes = artifact_bytes
        self._seconds = seconds
        self._seconds_max = seconds_max
        self._fail_rate = fail_rate
        self._fail_topic = fail_topic
        self._rng = rng or random.Random()
        # Only a poison topic makes it look at the job beyond its id (see handlers.reads_job).
        self.reads_job = fail_topic is not None

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        seconds = self._duration()
        if seconds and _sleep_reporting(ctx, seconds, f"simulating {stage}"):
            raise StageCancelledError(f"{stage} of {job.id} cancelled")
        if self._fail_topic and self._fail_topic in job.topic:
            raise SimulatedFailureError(f"simulated {stage} failure for a poison topic")
        if self._fail_rate and self._rng.random() < self._fail_rate:
            raise SimulatedFailureError(f"simulated {stage} failure (SF_SIM_FAIL_RATE={self._fail_rate})")
        if self._artifact_bytes:
            ctx.publish("simulated", _write_random(ctx.workdir() / f"{stage}.bin", self._artifact_bytes))
        return {"simulated": True, "stage": stage, "attempt": ctx.attempt, "seconds": round(seconds, 3)}

    def _duration(self) -> float:
        if self._seconds_max is None or self._seconds_max <= self._seconds:
            return self._seconds
        return self._rng.uniform(self._seconds, self._seconds_max)


# A long simulated run reports its progress in this many steps, like a real handler would.
PROGRESS_STEPS = 20


def _sleep_reporting(ctx: StageContext, seconds: float, note: str) -> bool:
    """Sleep `seconds` in steps, reporting the fraction done; True when cancelled meanwhile."""
    step = seconds / PROGRESS_STEPS
    for done in range(PROGRESS_STEPS):
        ctx.report_progress(done / PROGRESS_STEPS, f"{note}: step {done + 1} of {PROGRESS_STEPS}")
        if ctx.sleep(step):
            return True
    ctx.report_progress(1.0, note)
    return False


def _write_random(path: Path, size: int) -> Path:
    """`size` random bytes (incompressible, like video), written 1 MiB at a time."""
    with path.open("wb") as out:
        left = size
        while left:
            chunk = min(left, 1 << 20)
            out.write(os.urandom(chunk))
            left -= chunk
    return path
