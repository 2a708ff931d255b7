"""The recovery role: puts stages whose lease expired back in the queue."""

from sf_recovery.loop import recover_once, run_recovery

__all__ = ["recover_once", "run_recovery"]
