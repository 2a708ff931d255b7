"""The job of a handler that reads nothing but its id: any other field fails loudly, never blank."""

from __future__ import annotations

import uuid

import pytest
from sleepy_factory.handlers import reads_job
from sleepy_factory.queue import JobNotReadError, JobSpec


@pytest.mark.parametrize("field", ["format", "topic", "params", "trace_context"])
def test_reading_an_unfetched_field_raises(field: str) -> None:
    job = JobSpec.id_only(uuid.uuid4())

    with pytest.raises(JobNotReadError, match=f"{field} was not fetched"):
        getattr(job, field)
    with pytest.raises(JobNotReadError):  # a default must not hide it either
        getattr(job, field, "blank")


def test_the_id_equality_and_repr_still_work() -> None:
    job_id = uuid.uuid4()
    job = JobSpec.id_only(job_id)

    assert job.id == job_id
    assert job == JobSpec.id_only(job_id)
    assert job != JobSpec.id_only(uuid.uuid4())
    assert repr(job) == f"JobSpec.id_only({job_id!r})"


class Plain:
    pass


class IdOnly:
    reads_job = False


def test_a_handler_reads_its_job_unless_it_says_otherwise() -> None:
    assert reads_job(Plain())
    assert not reads_job(IdOnly())
