"""Operators' commands: watching the factory and steering jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from sleepy_factory.errors import InvalidInputError

from sf_cli.app import JsonFlag, app, database

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

# rich, the status queries and the views are imported inside each command: see main.py.

Interval = Annotated[float, typer.Option(min=0.05, max=3600, help="Seconds between refreshes.")]


@app.command()
def status(
    watch: Annotated[bool, typer.Option("--watch", help="Refresh the screen until Ctrl+C.")] = False,
    interval: Interval = 1.0,
    json: JsonFlag = False,
) -> None:
    """One screen: per stage the count in each status, stages DONE in the last minute, how long
    the oldest due READY stage has waited and live workers; then the ERROR total and whether an
    orchestrator and a recovery process are alive; then, per stage whose running work reports
    progress, its mean progress and when the last of it should be done. Every number comes from one
    database snapshot.

    --json prints one object: {"at", "stages": {STAGE: {"counts": {STATUS: n, ...},
    "done_last_minute", "oldest_ready_seconds" (null when nothing waits), "workers_alive",
    "running_progress" and "running_seconds_left" (null unless running work reports progress)}},
    "totals": {STATUS: n}, "done_last_minute", "errors", "processes": {ROLE: {"alive", "dead"}}}.

    Exit codes: 0 (also when --watch ends with Ctrl+C), 2 bad option, 3 database unreachable,
    4 schema missing or mismatched.
    """
    if watch and json:
        raise InvalidInputError("--watch and --json cannot be combined (run `sf status --json` in a loop)")
    from sleepy_factory.status import factory_status

    from sf_cli import render, status_view

    out = status_view.console()
    with database() as conn:
        if json:
            typer.echo(render.dumps(status_view.status_json(factory_status(conn))))
            return
        if not watch:
            out.print(status_view.status_view(factory_status(conn)))
            return
        try:
            with _live(out, status_view.status_view(factory_status(conn))) as live:
                while True:
                    time.sleep(interval)
                    live.update(status_view.status_view(factory_status(conn)), refresh=True)
        except KeyboardInterrupt:
            return  # Ctrl+C is how a watch ends, not a failure


@app.command()
def watch(
    job_id: Annotated[
        str, typer.Argument(metavar="ID", help="The job id, or an unambiguous prefix (4+ hex digits).")
    ],
    interval: Interval = 0.5,
) -> None:
    """Follow one job: each stage's status and attempt, and how many stages are DONE, until the
    job finishes or fails.

    Exit codes: 0 every stage DONE; 1 a stage is ERROR or CANCELLED (one line names the stage and
    its last error); 2 malformed id; 3 database unreachable; 5 no such job; 130 Ctrl+C.
    """
    from sleepy_factory.jobs import get_job, job_id_prefix, resolve_job_id
    from sleepy_factory.status import JobFailedError, job_progress

    from sf_cli import status_view

    out = status_view.console()
    prefix = job_id_prefix(job_id)  # a malformed id fails before connecting
    with database() as conn:
        parsed = resolve_job_id(conn, prefix)
        job = get_job(conn, parsed)
        progress = job_progress(job)
        with _live(out, status_view.job_view(job, progress)) as live:
            while not progress.over:
                time.sleep(interval)
                job = get_job(conn, parsed)
                progress = job_progress(job)
                live.update(status_view.job_view(job, progress), refresh=True)
    if progress.failed is not None:
        raise JobFailedError(status_view.failure_message(job, progress))


@app.command()
def workers(
    include_stopped: Annotated[
        bool, typer.Option("--all", help="Also list processes that stopped within the last hour.")
    ] = False,
    json: JsonFlag = False,
) -> None:
    """List every registered worker, orchestrator and recovery process, alive first.

    Liveness: alive (heartbeat within the last 15 s), dead (silent without saying it stopped:
    killed, hung or cut off), stopped (shut down cleanly; only with --all).

    --json prints a list of {"id", "role", "stage" (null unless a worker), "host", "pid",
    "version", "started_at", "heartbeat_at", "stopped_at", "liveness"}.

    Exit codes: 0, 2 bad option, 3 database unreachable, 4 schema missing or mismatched.
    """
    from sleepy_factory.status import list_processes

    from sf_cli import render, status_view

    with database() as conn:
        processes = list_processes(conn, include_stopped=include_stopped)
    if json:
        typer.echo(render.dumps(status_view.workers_json(processes)))
    else:
        status_view.console().print(status_view.workers_view(processes))


@contextmanager
def _live(out: Console, first: RenderableType) -> Iterator[Live]:
    """A display redrawn in place on a terminal; elsewhere (a pipe, a log) only its last frame."""
    from rich.live import Live

    try:
        with Live(first, console=out, auto_refresh=False) as live:
            yield live
    finally:
        if not out.is_terminal:
            out.line()  # Live ends its last frame with a newline only on a terminal
