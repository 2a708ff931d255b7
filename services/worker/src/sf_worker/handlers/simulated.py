"""A stand-in for real media work: takes SF_SIM_SECONDS and fails with probability SF_SIM_FAIL_RATE."""

from __future__ import annotations

import random
from typing import Any

from sleepy_factory.handlers import StageCancelledError, StageContext
from sleepy_factory.queue import JobSpec


class SimulatedFailureError(RuntimeError):
    """The failure a simulated handler raises on purpose."""


class SimulatedHandler:
    def __init__(self, *, seconds: float, fail_rate: float, rng: random.Random | None = None) -> None:
        self._seconds = seconds
        self._fail_rate = fail_rate
        self._rng = rng or random.Random()

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        if self._seconds and ctx.sleep(self._seconds):
            raise StageCancelledError(f"{stage} of {job.id} cancelled")
        if self._fail_rate and self._rng.random() < self._fail_rate:
            raise SimulatedFailureError(f"simulated {stage} failure (SF_SIM_FAIL_RATE={self._fail_rate})")
        return {"simulated": True, "stage": stage, "attempt": ctx.attempt, "seconds": self._seconds}
