"""Stage handlers shipped with the worker: real media (default) or simulated (SF_HANDLERS=sim)."""

from sleepy_factory.config import Settings
from sleepy_factory.handlers import StageHandler

from sf_worker.handlers.simulated import SimulatedHandler


def handler_for(stage: str, settings: Settings) -> StageHandler:
    """The handler that runs `stage` under the configured SF_HANDLERS."""
    if settings.handlers == "sim":
        return SimulatedHandler(
            seconds=settings.sim_seconds,
            seconds_max=settings.sim_seconds_max,
            fail_rate=settings.sim_fail_rate,
            fail_topic=settings.sim_fail_topic,
            artifact_bytes=settings.sim_artifact_bytes,
        )
    # Imported only here: the media stack (PyAV, Pillow, numpy) is heavy and sim runs never need it.
    from sf_worker.handlers.media_stages import AudioStage, RenderStage, VisualsStage, llm_config

    stages: dict[str, StageHandler] = {
        "audio": AudioStage(llm_config(settings)),
        "visuals": VisualsStage(settings.caption_style),
        "render": RenderStage(settings.caption_style),
    }
    return stages[stage]
