"""How the operators' views look: rich tables for people, plain dicts for `--json` (a documented,
stable interface). Every text that came from the database is rendered as `Text` (never parsed as
rich markup) and passed through `safe_text`, so a topic or error cannot move the cursor."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from sleepy_factory.jobs import JobSummary
from sleepy_factory.pipeline import STATUSES, Status
from sleepy_factory.registry import WorkerEntry
from sleepy_factory.status import (
    FactoryStatus,
    JobProgress,
    ProcessList,
    RoleLiveness,
    StageStatus,
    liveness,
)

from sf_cli.render import progress_text, safe_text

NAME_WIDTH = 32
ERROR_WIDTH = 300
STATUS_STYLES: dict[str, str] = {
    Status.NEW: "dim",
    Status.READY: "yellow",
    Status.RUNNING: "cyan",
    Status.DONE: "green",
    Status.ERROR: "bold red",
    Status.CANCELLED: "red",
}
LIVENESS_STYLES = {"alive": "green", "dead": "bold red", "stopped": "dim"}


def console() -> Console:
    """Standard output; plain text (no colour, no cursor moves) when it is not a terminal. The
    width follows the terminal, or COLUMNS when set (tests set it for stable output)."""
    return Console(highlight=False, emoji=False, markup=False)


# --- sf status -------------------------------------------------------------------------------


def status_json(status: FactoryStatus) -> dict[str, Any]:
    return {
        "at": _iso(status.at),
        "stages": {
            s.stage: {
                "counts": dict(s.counts),
                "done_last_minute": s.done_last_minute,
                "oldest_ready_seconds": _round(s.oldest_ready_seconds),
                "workers_alive": s.workers_alive,
                "running_progress": _round(s.running_progress),
                "running_seconds_left": _round(s.running_seconds_left),
            }
            for s in status.stages
        },
        "totals": dict(status.totals),
        "done_last_minute": status.done_last_minute,
        "errors": status.errors,
        "processes": {
            role: {"alive": live.alive, "dead": live.dead} for role, live in status.processes.items()
        },
    }


def status_view(status: FactoryStatus) -> RenderableType:
    """One screen: a row per stage, a totals row, then errors and which roles are alive."""
    table = Table(
        box=box.SIMPLE_HEAD,
        title=Text(f"Sleepy Factory  {_clock(status.at)}", style="bold"),
        title_justify="left",
        padding=(0, 0, 0, 1),
        show_edge=False,
        pad_edge=False,
    )
    # Two-line headers keep the whole table within 80 columns.
    for header in ("stage", *STATUSES, "done\nlast min", "oldest\nREADY", "live\nworkers"):
        table.add_column(header, justify="left" if header == "stage" else "right", vertical="bottom")
    for s in status.stages:
        table.add_row(
            Text(safe_text(s.stage, NAME_WIDTH)),
            *(_count(name, s.counts[name]) for name in STATUSES),
            Text(str(s.done_last_minute)),
            Text(_age(s.oldest_ready_seconds)),
            Text(str(s.workers_alive), style="" if s.workers_alive else "yellow"),
        )
    table.add_section()
    table.add_row(
        Text("total", style="bold"),
        *(_count(name, status.totals[name]) for name in STATUSES),
        Text(str(status.done_last_minute)),
        Text(""),
        Text(str(status.processes["worker"].alive)),
    )
    footer = Text.assemble(
        ("ERROR ", "bold"),
        (str(status.errors), "bold red" if status.errors else "green"),
        *(part for role, live in status.processes.items() for part in _liveness_parts(role, live)),
    )
    running = [s for s in status.stages if s.running_progress is not None]
    if not running:
        return Group(table, footer)
    progress = Text.assemble(("running ", "bold"), *(part for s in running for part in _progress_parts(s)))
    return Group(table, footer, progress)


def _progress_parts(stage: StageStatus) -> tuple[str | tuple[str, str], ...]:
    """`  audio 42% (last done in 3m05s)`: mean progress of its running stages, longest time left."""
    assert stage.running_progress is not None
    left = "" if stage.running_seconds_left is None else f" (last done in {_age(stage.running_seconds_left)})"
    return ("  ", safe_text(stage.stage, NAME_WIDTH), " ", (f"{stage.running_progress:.0%}", "cyan"), left)


def _count(status: str, count: int) -> Text:
    return Text(str(count), style=STATUS_STYLES.get(status, "") if count else "dim")


def _liveness_parts(role: str, live: RoleLiveness) -> list[tuple[str, str]]:
    parts = [
        ("   ", ""),
        (f"{role} ", "bold"),
        (f"{live.alive} alive", "green" if live.alive else "bold red"),
    ]
    if live.dead:
        parts.append((f", {live.dead} dead", "bold red"))
    return parts


# --- sf workers ------------------------------------------------------------------------------


def workers_json(processes: ProcessList) -> list[dict[str, Any]]:
    return [_worker_json(e) for e in processes.entries]


def _worker_json(entry: WorkerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "role": entry.role,
        "stage": entry.stage,
        "host": entry.host,
        "pid": entry.pid,
        "version": entry.version,
        "started_at": _iso(entry.started_at),
        "heartbeat_at": _iso(entry.heartbeat_at),
        "stopped_at": _iso(entry.stopped_at),
        "liveness": liveness(entry),
    }


def workers_view(processes: ProcessList) -> RenderableType:
    """One row per process, the id last: it is the longest and folds rather than being cut."""
    if not processes.entries:
        return Text("no processes registered (is anything running against this database?)")
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1), show_edge=False, pad_edge=False)
    for name in ("liveness", "role", "stage", "host:pid", "version", "up", "last beat"):
        table.add_column(name, justify="right" if name in ("up", "last beat") else "left", no_wrap=True)
    table.columns[3].max_width = 20
    table.add_column("id", overflow="fold")
    for e in processes.entries:
        state = liveness(e)
        table.add_row(
            Text(state, style=LIVENESS_STYLES[state]),
            Text(safe_text(e.role, NAME_WIDTH)),
            Text(safe_text(e.stage or "-", NAME_WIDTH)),
            Text(f"{safe_text(e.host, 40)}:{e.pid}"),
            Text(safe_text(e.version, NAME_WIDTH)),
            Text(_age(_seconds_between(e.started_at, e.stopped_at or processes.at))),
            Text(f"{_age(_seconds_between(e.heartbeat_at, processes.at))} ago"),
            Text(safe_text(e.id, 200)),
        )
    return table


# --- sf watch --------------------------------------------------------------------------------


def job_view(job: JobSummary, progress: JobProgress) -> RenderableType:
    """The job's stages with status and attempt, and a bar of how many are DONE."""
    heading = Text.assemble(("job ", "bold"), str(job.id), "  ", job.format, "  ", safe_text(job.topic, 60))
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("stage", "status", "attempt", "failures", "lost leases", "progress", "last error"):
        table.add_column(name, justify="right" if name in ("attempt", "failures", "lost leases") else "left")
    for s in job.stage_details:
        table.add_row(
            Text(safe_text(s.stage, NAME_WIDTH)),
            Text(s.status, style=STATUS_STYLES.get(s.status, "")),
            Text(str(s.attempt)),
            Text(str(s.failures)),
            Text(str(s.lease_losses)),
            Text(progress_text(s), style="cyan"),
            Text(safe_text(s.last_error or "", 80)),
        )
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=max(progress.total, 1), completed=progress.done, width=30),
        Text(f"{progress.done}/{progress.total} stages DONE", style="green" if progress.finished else ""),
    )
    return Group(heading, table, bar)


def failure_message(job: JobSummary, progress: JobProgress) -> str:
    """`job <id> failed at stage <stage>: <last error>`, on one line whatever the error held."""
    failed = progress.failed
    assert failed is not None
    stage = safe_text(failed.stage, NAME_WIDTH)
    reason = safe_text(failed.last_error or failed.status.lower(), ERROR_WIDTH)
    return f"job {job.id} failed at stage {stage}: {reason}"


# --- formatting ------------------------------------------------------------------------------


def _age(seconds: float | None) -> str:
    """`-`, `4.2s`, `3m05s`, `2h04m` or `3d04h`."""
    if seconds is None:
        return "-"
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def _seconds_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds()


def _clock(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
