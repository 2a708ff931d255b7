"""The lease-and-claim protocol: the only place that writes leases."""

from sleepy_factory.queue.claim import claim
from sleepy_factory.queue.complete import Finished, complete, complete_many
from sleepy_factory.queue.cycle import Cycle, complete_and_claim
from sleepy_factory.queue.finish import fail, record_attempt_span, release
from sleepy_factory.queue.heartbeat import heartbeat
from sleepy_factory.queue.records import ClaimedStage, Connection, JobNotReadError, JobSpec, Lease
from sleepy_factory.queue.recover import RequeuedStage, requeue_expired, requeue_expired_batch

__all__ = [
    "ClaimedStage",
    "Connection",
    "Cycle",
    "Finished",
    "JobNotReadError",
    "JobSpec",
    "Lease",
    "RequeuedStage",
    "claim",
    "complete",
    "complete_and_claim",
    "complete_many",
    "fail",
    "heartbeat",
    "record_attempt_span",
    "release",
    "requeue_expired",
    "requeue_expired_batch",
]
