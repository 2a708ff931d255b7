"""The orchestrator role: the only owner of stage transitions."""

from sf_orchestrator.loop import run_orchestrator
from sf_orchestrator.transitions import promote_ready_stages

__all__ = ["promote_ready_stages", "run_orchestrator"]
