"""The tables as SQLAlchemy models: Alembic autogenerates migrations from them; a test checks they agree."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sleepy_factory.pipeline import FORMATS, STATUSES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Job(Base):
    """One requested video. The trace context links every role's span to the span that created it."""

    __tablename__ = "jobs"
    __table_args__ = (CheckConstraint(f"format IN ({_quoted(FORMATS)})", name="format_known"),)

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    format: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    trace_context: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class JobStage(Base):
    """One stage of one job: its status, its lease and the fencing token (`attempt`)."""

    __tablename__ = "job_stages"
    __table_args__ = (
        CheckConstraint(f"status IN ({_quoted(STATUSES)})", name="status_known"),
        CheckConstraint(
            "(status = 'RUNNING') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)",
            name="lease_iff_running",
        ),
        CheckConstraint("attempt >= 0 AND failures >= 0 AND lease_losses >= 0", name="counters_positive"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_fraction"),
        # Claim scans only READY rows of one stage, oldest run_after first.
        Index(
            "ix_job_stages_ready",
            "stage",
            "run_after",
            postgresql_where=text("status = 'READY'"),
        ),
        # Recovery scans only RUNNING rows by lease expiry.
        Index(
            "ix_job_stages_running_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'RUNNING'"),
        ),
        # The orchestrator looks only at stages still waiting to be promoted, first stages apart
        # from later ones (0008_new_stages_by_position); a handoff finds a job's next stage here.
        Index("ix_job_stages_new", "position", "job_id", postgresql_where=text("status = 'NEW'")),
        # The API streams stage changes in change order and resumes after the last one a client saw.
        Index("ix_job_stages_change_seq", "change_seq"),
        # Room for a status change's new row version on the same page (0007_cheaper_stage_changes).
        {"postgresql_with": {"fillfactor": 70}},
    )

    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'NEW'"))
    attempt: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Handler failures and lost leases (expired under recovery) have separate budgets.
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lease_losses: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lease_owner: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    run_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    last_error: Mapped[str | None] = mapped_column(Text)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # W3C context of the span of the latest attempt, so the next attempt can link to it.
    attempt_span: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # A new number from job_stages_change_seq at insert and at every status change, set by a
    # trigger (migration 0005_stage_changes) that also sends NOTIFY sf_stage_changed, once per
    # transaction since 0007_cheaper_stage_changes.
    change_seq: Mapped[int] = mapped_column(BigInteger)
    # What the running attempt last reported through its heartbeat: a fraction done and a phrase
    # (migration 0006_stage_progress). Cleared when a new attempt is claimed.
    progress: Mapped[float | None] = mapped_column(Float)
    progress_note: Mapped[str | None] = mapped_column(Text)


class Worker(Base):
    """The registry: every running role process, heartbeating while it lives (`sf workers`).

    Only an operator's view: leases stay the rule of truth for who owns a stage.
    """

    __tablename__ = "workers"
    __table_args__ = (Index("ix_workers_heartbeat_at", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # the lease owner id for workers
    role: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    stopped_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Artifact(Base):
    """A file a stage produced, registered in the same fenced transaction that completed the stage:
    a dead or stale attempt never has a registered artifact, and a retry never adds a second one."""

    __tablename__ = "artifacts"

    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    media: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
