"""The lease-and-claim protocol: the only place that writes leases."""

from sleepy_factory.queue.claim import claim
from sleepy_factory.queue.finish import complete, fail, release
from sleepy_factory.queue.heartbeat import heartbeat
from sleepy_factory.queue.records import ClaimedStage, Connection, JobSpec, Lease
from sleepy_factory.queue.recover import requeue_expired

__all__ = [
    "ClaimedStage",
    "Connection",
    "JobSpec",
    "Lease",
    "claim",
    "complete",
    "fail",
    "heartbeat",
    "release",
    "requeue_expired",
]
