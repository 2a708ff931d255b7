"""Stage handlers shipped with the worker."""

from sleepy_factory.config import Settings
from sleepy_factory.handlers import StageHandler

from sf_worker.handlers.simulated import SimulatedHandler


def handler_for(stage: str, settings: Settings) -> StageHandler:
    """The handler that runs `stage`. Only simulated handlers exist today; real media comes later."""
    del stage  # every stage is simulated the same way for now
    return SimulatedHandler(
        seconds=settings.sim_seconds,
        seconds_max=settings.sim_seconds_max,
        fail_rate=settings.sim_fail_rate,
        fail_topic=settings.sim_fail_topic,
    )
