"""The worker role: claims stages of one kind and runs their handlers under a lease."""

from sf_worker.handlers import handler_for
from sf_worker.worker import Worker, new_owner_id

__all__ = ["Worker", "handler_for", "new_owner_id"]
