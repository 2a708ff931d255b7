"""A stand-in for real media work, for tests, benchmarks and chaos runs.

Takes SF_SIM_SECONDS (or a random time up to SF_SIM_SECONDS_MAX), fails with probability
SF_SIM_FAIL_RATE, and always fails for jobs whose topic contains SF_SIM_FAIL_TOPIC.
"""

from __future__ import annotations

import random
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
    ) -> None:
        self._seconds = seconds
        self._seconds_max = seconds_max
        self._fail_rate = fail_rate
        self._fail_topic = fail_topic
        self._rng = rng or random.Random()

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        seconds = self._duration()
        if seconds and ctx.sleep(seconds):
            raise StageCancelledError(f"{stage} of {job.id} cancelled")
        if self._fail_topic and self._fail_topic in job.topic:
            raise SimulatedFailureError(f"simulated {stage} failure for a poison topic")
        if self._fail_rate and self._rng.random() < self._fail_rate:
            raise SimulatedFailureError(f"simulated {stage} failure (SF_SIM_FAIL_RATE={self._fail_rate})")
        return {"simulated": True, "stage": stage, "attempt": ctx.attempt, "seconds": round(seconds, 3)}

    def _duration(self) -> float:
        if self._seconds_max is None or self._seconds_max <= self._seconds:
            return self._seconds
        return self._rng.uniform(self._seconds, self._seconds_max)
