"""The fencing and recovery promises hold through PgBouncer in transaction mode.

The same tests as tests/integration, collected again here, where `conn` (and `db_url`) go through
the pooler (conftest.py): each statement may run on another server session than the last.
Left out: the one recovery test that sets a session-level lock_timeout on its own connection,
which a transaction pooler would hand on to other clients.
"""

from __future__ import annotations

from tests.integration.test_fencing import (
    test_completing_a_batch_writes_only_the_runs_still_held,
    test_completion_hands_the_job_on_to_its_next_stage_only_when_asked,
    test_current_lease_completes_the_stage,
    test_database_forbids_dropping_the_lease_of_a_running_stage,
    test_database_forbids_running_without_a_lease_and_a_lease_without_running,
    test_fail_backoff_grows_exponentially_up_to_the_cap,
    test_fail_keeps_only_the_first_part_of_a_huge_error,
    test_fail_requeues_after_a_backoff_and_records_the_error,
    test_finished_run_cannot_write_again,
    test_heartbeat_extends_and_returns_exactly_the_leases_still_held,
    test_heartbeat_with_no_leases_returns_nothing,
    test_release_hands_the_stage_back_without_counting_a_failure,
    test_stage_goes_to_error_after_max_attempts_failures,
    test_stale_attempt_cannot_complete_fail_release_or_heartbeat,
    test_stale_owner_cannot_complete,
    test_stale_owner_cannot_fail_release_or_heartbeat,
)
from tests.integration.test_recovery import (
    test_concurrent_recoveries_requeue_each_stage_exactly_once,
    test_expired_stage_that_used_up_its_lease_losses_goes_to_error,
    test_lost_leases_do_not_spend_the_handler_failure_budget,
    test_recover_once_requeues_every_batch_with_the_configured_max_lease_losses,
    test_requeue_expired_requeues_every_expired_stage_of_every_kind_and_job,
    test_requeue_with_nothing_expired_changes_nothing,
    test_requeued_stage_is_due_at_once,
)

__all__ = [
    "test_completing_a_batch_writes_only_the_runs_still_held",
    "test_completion_hands_the_job_on_to_its_next_stage_only_when_asked",
    "test_concurrent_recoveries_requeue_each_stage_exactly_once",
    "test_current_lease_completes_the_stage",
    "test_database_forbids_dropping_the_lease_of_a_running_stage",
    "test_database_forbids_running_without_a_lease_and_a_lease_without_running",
    "test_expired_stage_that_used_up_its_lease_losses_goes_to_error",
    "test_fail_backoff_grows_exponentially_up_to_the_cap",
    "test_fail_keeps_only_the_first_part_of_a_huge_error",
    "test_fail_requeues_after_a_backoff_and_records_the_error",
    "test_finished_run_cannot_write_again",
    "test_heartbeat_extends_and_returns_exactly_the_leases_still_held",
    "test_heartbeat_with_no_leases_returns_nothing",
    "test_lost_leases_do_not_spend_the_handler_failure_budget",
    "test_recover_once_requeues_every_batch_with_the_configured_max_lease_losses",
    "test_release_hands_the_stage_back_without_counting_a_failure",
    "test_requeue_expired_requeues_every_expired_stage_of_every_kind_and_job",
    "test_requeue_with_nothing_expired_changes_nothing",
    "test_requeued_stage_is_due_at_once",
    "test_stage_goes_to_error_after_max_attempts_failures",
    "test_stale_attempt_cannot_complete_fail_release_or_heartbeat",
    "test_stale_owner_cannot_complete",
    "test_stale_owner_cannot_fail_release_or_heartbeat",
]
