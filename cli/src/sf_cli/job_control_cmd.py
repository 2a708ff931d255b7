"""Job control: retry, cancel and prune jobs. Registers itself on `app` when main imports it; the
core functions are imported inside each command (see main.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from sf_cli.app import Stage, app, database


@app.command()
def retry(
    job_id: Annotated[
        str, typer.Argument(metavar="ID", help="The job id, or an unambiguous prefix (4+ hex digits).")
    ],
    stage: Annotated[Stage | None, typer.Option(help="Only this stage.")] = None,
) -> None:
    """Give a job's ERROR and CANCELLED stages (or one --stage) a fresh start and failure budget."""
    from sleepy_factory.jobs import job_id_prefix, resolve_job_id, retry_job

    prefix = job_id_prefix(job_id)  # a malformed id fails before connecting
    with database() as conn:
        stages = retry_job(conn, resolve_job_id(conn, prefix), None if stage is None else str(stage.value))
    typer.echo(
        f"requeued: {', '.join(stages)}" if stages else "nothing to retry: no stage is in ERROR or CANCELLED"
    )


@app.command()
def cancel(
    job_id: Annotated[
        str, typer.Argument(metavar="ID", help="The job id, or an unambiguous prefix (4+ hex digits).")
    ],
) -> None:
    """Cancel a job: unfinished stages become CANCELLED and are never claimed again.

    A stage running right now loses its lease: its worker abandons the run at its next heartbeat.
    `sf retry ID` brings a cancelled job back.
    """
    from sleepy_factory.jobs import cancel_job, job_id_prefix, resolve_job_id

    prefix = job_id_prefix(job_id)  # a malformed id fails before connecting
    with database() as conn:
        stages = cancel_job(conn, resolve_job_id(conn, prefix))
    typer.echo(f"cancelled: {', '.join(stages)}" if stages else "nothing to cancel: every stage is DONE")


@app.command()
def prune(
    older_than: Annotated[str, typer.Option(help="Age of finished jobs to delete, e.g. 30d, 12h.")] = "30d",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")] = False,
) -> None:
    """Delete finished jobs (every stage DONE) older than --older-than; unfinished jobs stay."""
    from sleepy_factory.retention import parse_age, prune_finished

    age = parse_age(older_than)
    with database() as conn:
        count = prune_finished(conn, age, dry_run=dry_run)
    typer.echo(f"{'would delete' if dry_run else 'deleted'} {count} finished job(s) older than {older_than}")
