"""Artifact commands: export a finished video, verify checksums, collect garbage."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sleepy_factory.errors import SleepyFactoryError

from sf_cli.app import JsonFlag, app, database

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sleepy_factory.artifacts import ArtifactRow, LocalStore
    from sleepy_factory.artifacts.s3 import S3Store

# The stores and their maintenance are imported inside each command: see main.py.


class VerificationError(SleepyFactoryError):
    exit_code = 1


def local_paths(artifacts: Sequence[ArtifactRow]) -> dict[str, Path]:
    """The file of each artifact in the local store, by uri (a bucket's objects have none). A row
    whose uri points outside the store gets no path: `sf verify` names that problem."""
    from sleepy_factory.artifacts import LocalStore
    from sleepy_factory.artifacts.store import URI_SCHEME, OutsideStoreError
    from sleepy_factory.config import artifact_root, load_settings

    store = LocalStore(artifact_root(load_settings()))
    paths: dict[str, Path] = {}
    for artifact in artifacts:
        if artifact.uri.startswith(URI_SCHEME):
            with contextlib.suppress(OutsideStoreError):
                paths[artifact.uri] = store.path(artifact.uri)
    return paths


def _store() -> LocalStore | S3Store:
    from sleepy_factory.artifacts.configured import open_store
    from sleepy_factory.config import load_settings

    return open_store(load_settings())


@app.command()
def export(
    job_id: Annotated[
        str, typer.Argument(metavar="ID", help="The job id, or an unambiguous prefix (4+ hex digits).")
    ],
    to: Annotated[Path, typer.Option("--to", help="Directory to copy into (created if missing).")],
) -> None:
    """Copy a job's final video, captions and script into a directory."""
    from sleepy_factory.artifacts.maintenance import export_job
    from sleepy_factory.jobs import job_id_prefix, resolve_job_id

    prefix = job_id_prefix(job_id)  # a malformed id fails before connecting
    with database() as conn:
        parsed = resolve_job_id(conn, prefix)
        copied = export_job(conn, _store(), parsed, to)
    for path in copied:
        typer.echo(str(path))


@app.command()
def verify(
    job_id: Annotated[
        str, typer.Argument(metavar="ID", help="The job id, or an unambiguous prefix (4+ hex digits).")
    ],
    json: JsonFlag = False,
) -> None:
    """Re-hash a job's files against the sizes and SHA-256 sums recorded in the database."""
    from sleepy_factory.artifacts.maintenance import verify_job
    from sleepy_factory.jobs import job_id_prefix, resolve_job_id

    from sf_cli import render

    prefix = job_id_prefix(job_id)  # a malformed id fails before connecting
    with database() as conn:
        parsed = resolve_job_id(conn, prefix)
        artifacts, problems = verify_job(conn, _store(), parsed)
    if json:
        typer.echo(render.dumps({"checked": len(artifacts), "problems": [p.problem for p in problems]}))
    if problems:
        raise VerificationError(
            f"{len(problems)} of {len(artifacts)} artifact(s) failed: {problems[0].problem}"
        )
    if not json:
        typer.echo(f"verified {len(artifacts)} artifact(s)")


@app.command()
def gc(
    older_than: Annotated[str, typer.Option(help="Only files older than this (e.g. 10m, 1h).")] = "10m",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
) -> None:
    """Remove files of failed, stale or dead attempts and of pruned jobs (never running work)."""
    from sleepy_factory.artifacts import LocalStore
    from sleepy_factory.artifacts.maintenance import collect_garbage
    from sleepy_factory.retention import parse_age

    age = parse_age(older_than)
    store = _store()
    with database() as conn:
        report = collect_garbage(conn, store, older_than=age, dry_run=dry_run)
    for path in report.removed:
        typer.echo(str(path))
    verb = "would remove" if dry_run else "removed"
    if isinstance(store, LocalStore):
        typer.echo(f"{verb} {len(report.removed)} director(ies), {report.bytes_freed} bytes")
        return
    aborted = "would abort" if dry_run else "aborted"
    typer.echo(
        f"{verb} {len(report.removed)} object(s) or scratch director(ies), {report.bytes_freed} bytes; "
        f"{aborted} {report.uploads_aborted} unfinished upload(s)"
    )
