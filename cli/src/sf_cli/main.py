"""The `sf` command. Commands stay thin: parse, call one core function, render.

`sf` is scripted in loops, so a command imports only what it uses, inside its own body: at the
top of a command module go typer, the standard library and the cheap core modules (errors,
pipeline, job_input). tests/integration/test_cli_imports.py keeps the heavy ones out of `sf --help`,
`sf list-jobs`, `sf new-job` and `sf health`;
`uv run python tools/cli_startup.py` measures the start-up time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sleepy_factory.errors import InvalidInputError, ShutdownRequested, SleepyFactoryError
from sleepy_factory.job_input import (
    DEFAULT_TOPIC,
    validate_aspect,
    validate_length,
    validate_rate,
    validate_topic,
    validate_voice,
)
from sleepy_factory.pipeline import ALL_STAGES, Format, Status

from sf_cli.app import JsonFlag, Stage, app, database

if TYPE_CHECKING:
    import threading

    from sleepy_factory.config import Settings


@app.command("new-job")
def new_job(
    format: Annotated[Format, typer.Option("--format", help="Video format.")] = Format.SHORT,
    topic: Annotated[
        str, typer.Option(help="What the video is about: 1-200 characters, one line, a letter or digit.")
    ] = DEFAULT_TOPIC,
    length_seconds: Annotated[
        int | None,
        typer.Option(
            help="Target length (short 10-59, longform 60-14400, sleepy 60-36000); default per format."
        ),
    ] = None,
    count: Annotated[int, typer.Option(min=1, max=100_000, help="Create this many identical jobs.")] = 1,
    script: Annotated[
        Path | None,
        typer.Option(
            "--script",
            help="Narrate this script: Markdown (# title, ## sections) or JSON (sections of sentences).",
        ),
    ] = None,
    voice: Annotated[str | None, typer.Option(help="Speech voice, e.g. en_US-joe-medium.")] = None,
    rate: Annotated[
        str | None, typer.Option(help="Speaking rate, 0.5-2.0 times the voice's natural pace.")
    ] = None,
    aspect: Annotated[str | None, typer.Option(help="Aspect ratio: 9:16, 16:9 or 1:1.")] = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="Render fast for a preview (bigger file, not for upload).")
    ] = False,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file",
            help="Create one job per line of a .csv (format,topic,length_seconds,voice,speaking_rate,"
            "aspect,script,draft) or .jsonl file.",
        ),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Create jobs; prints each id. Starts each job's trace when tracing is configured."""
    from sleepy_factory.job_files import JobRequest, read_job_file
    from sleepy_factory.script_input import read_script_file

    from sf_cli import render
    from sf_cli.creating import create_jobs, shutdown_tracing

    if from_file is not None:
        chosen = _per_job_options(script, voice, rate, aspect, draft or None)
        given = [name for name, value in chosen if value is not None]
        if given:
            raise InvalidInputError(
                f"{', '.join(given)} cannot be combined with --from-file: give them per line in the file"
            )
        requests = read_job_file(from_file)
    else:
        topic = validate_topic(topic, label="--topic")
        request = JobRequest(
            format=format,
            topic=topic,
            length_seconds=validate_length(format, length_seconds, label="--length-seconds")
            if length_seconds is not None
            else None,
            voice=validate_voice(voice, label="--voice"),
            speaking_rate=validate_rate(rate, label="--rate"),
            aspect=validate_aspect(aspect, label="--aspect"),
            script=read_script_file(script) if script is not None else None,
            draft=draft,
        )
        requests = [request] * count
    try:
        with database() as conn:
            ids = create_jobs(conn, requests, progress=len(requests) > 1 and not json)
    finally:
        shutdown_tracing()
    if json:
        typer.echo(render.dumps({"id": str(ids[0])} if len(ids) == 1 else {"ids": [str(i) for i in ids]}))
    else:
        for job_id in ids:
            typer.echo(str(job_id))


def _per_job_options(*values: object) -> list[tuple[str, object]]:
    return list(zip(("--script", "--voice", "--rate", "--aspect", "--draft"), values, strict=True))


@app.command("list-jobs")
def list_jobs_command(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many jobs, newest first.")] = 20,
    status: Annotated[Status | None, typer.Option(help="Only jobs with a stage in this status.")] = None,
    json: JsonFlag = False,
) -> None:
    """List the newest jobs with each stage's status."""
    from sleepy_factory.jobs import list_jobs

    from sf_cli import render

    with database() as conn:
        jobs = list_jobs(conn, limit=limit, status=status)
    if json:
        typer.echo(render.dumps([render.job_json(job) for job in jobs]))
    else:
        for job in jobs:
            typer.echo(render.job_line(job))


@app.command("show-job")
def show_job(
    job_id: Annotated[
        str, typer.Argument(metavar="ID", help="The job id, or an unambiguous prefix (4+ hex digits).")
    ],
    json: JsonFlag = False,
) -> None:
    """Show one job: per stage its status, attempt, lease, last error and timings."""
    from sleepy_factory.artifacts import list_artifacts
    from sleepy_factory.jobs import get_job, job_id_prefix, resolve_job_id

    from sf_cli import render
    from sf_cli.artifacts_cmd import local_paths

    prefix = job_id_prefix(job_id)  # a malformed id fails before connecting
    with database() as conn:
        parsed = resolve_job_id(conn, prefix)
        job = get_job(conn, parsed)
        artifacts = list_artifacts(conn, parsed)
    paths = local_paths(artifacts)
    if json:
        listed = render.artifacts_json(artifacts, paths)
        typer.echo(render.dumps({**render.job_detail_json(job), "artifacts": listed}))
    else:
        typer.echo(render.job_detail_text(job))
        typer.echo(render.artifacts_text(artifacts, paths))


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic, to the newest revision).

    With SF_APP_ROLE and SF_APP_PASSWORD set, also create that role (or reset its password) and grant
    it exactly the reads and writes the other roles need, and no schema changes.
    """
    from sleepy_factory.config import load_settings
    from sleepy_factory.db import connect, resolve_url
    from sleepy_factory.grants import app_credentials, grant_app_role
    from sleepy_factory.logs import configure_logging
    from sleepy_factory.migrate import upgrade
    from sleepy_factory.urls import masked

    settings = load_settings()
    url = resolve_url(settings)
    credentials = app_credentials(settings)  # a missing password fails before anything changes
    # Alembic logs the revisions it applies ("Running upgrade A -> B"); its chatter is filtered there.
    configure_logging(settings.log_format, level=settings.log_level)
    with connect(url):
        pass  # fail with one clear line before Alembic prints a traceback
    upgrade(url)
    typer.echo(f"database {masked(url)} is at the latest schema")
    if credentials is not None:
        with connect(url) as conn:
            grant_app_role(conn, *credentials)
        typer.echo(f"role {credentials[0]} may read and write the factory's tables, not change the schema")


@app.command()
def orchestrator() -> None:
    """Run one orchestrator pass: promote every stage whose turn has come."""
    from sf_orchestrator import promote_ready_stages

    with database() as conn:
        promoted = promote_ready_stages(conn)
    typer.echo(f"promoted {promoted} stage(s)")


@app.command("orchestrator-loop")
def orchestrator_loop(
    poll: Annotated[float, typer.Option(min=0.01, help="Seconds between passes.")] = 1.0,
) -> None:
    """Run the orchestrator until SIGTERM/Ctrl+C."""
    from sf_cli.roles import orchestrator_loop as loop

    with _role_settings() as settings:
        loop(settings, _stop_event(), poll)


@app.command()
def recovery(
    poll: Annotated[float, typer.Option(min=0.01, help="Seconds between scans.")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="Scan once and exit.")] = False,
) -> None:
    """Requeue stages whose lease expired (their worker died or hung)."""
    from sf_cli.roles import recovery_loop, recovery_once

    with _role_settings() as settings:
        if once:
            typer.echo(f"requeued {recovery_once(settings)} stage(s)")
        else:
            recovery_loop(settings, _stop_event(), poll)


@app.command()
def worker(
    stage: Annotated[
        Stage | None, typer.Option(help="Which stage this worker runs (default: SF_STAGE).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=256, help="Stages run at once (default: SF_CONCURRENCY, else 1).")
    ] = None,
) -> None:
    """Claim and run stages of one kind until SIGTERM/Ctrl+C."""
    from sf_cli.roles import worker_loop

    with _role_settings() as settings:
        chosen = str(stage.value) if stage is not None else settings.stage
        if chosen is None:
            raise InvalidInputError(f"no stage: pass --stage or set SF_STAGE ({', '.join(ALL_STAGES)})")
        worker_loop(settings, _stop_event(), chosen, concurrency or settings.concurrency)


@app.command()
def dev(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Handlers per stage.")] = 2,
) -> None:
    """Run every role in one process; embedded Postgres under .sf/ unless DATABASE_URL is set."""
    from sf_cli.dev import run_dev

    with _role_settings() as settings:
        run_dev(settings, _stop_event(), concurrency=concurrency)


@app.command()
def health(
    max_age: Annotated[
        float | None, typer.Option(help="Seconds without a heartbeat before unhealthy (SF_HEALTH_MAX_AGE).")
    ] = None,
) -> None:
    """Exit 0 when this container's role loop reached the database recently (for HEALTHCHECK)."""
    # A plain `sf health` never gets here: sf_cli.entry answers it without importing typer.
    from sf_cli.entry import health_line

    typer.echo(health_line(max_age))


@contextmanager
def _role_settings() -> Iterator[Settings]:
    """Settings and logging for a long-running role; flushes its spans and metrics however it ends."""
    from sleepy_factory.config import load_settings
    from sleepy_factory.logs import configure_logging
    from sleepy_factory.metrics import shutdown_metrics
    from sleepy_factory.tracing import shutdown_tracing

    settings = load_settings()
    configure_logging(settings.log_format, level=settings.log_level)
    try:
        yield settings
    finally:
        shutdown_tracing()
        shutdown_metrics()


def _stop_event() -> threading.Event:
    import threading

    from sleepy_factory.runtime import stop_on_signals

    stop = threading.Event()
    stop_on_signals(stop)
    return stop


def run() -> None:
    """Entry point: every expected failure becomes one line on stderr and a non-zero exit."""
    _register_command_modules()
    try:
        app(standalone_mode=False)
    except ShutdownRequested:
        sys.exit(0)
    except SleepyFactoryError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument, bad value
        if not exc.format_message():
            sys.exit(exc.exit_code)  # bare `sf`: help was printed already
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _fail(f"{exc.format_message()}{hint}", exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:
        _fail_on_database_error(exc)
        raise


def _fail_on_database_error(exc: Exception) -> None:
    """One line for a database error; psycopg is looked up, not imported: `sf --help` never loads it."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(exc, psycopg.Error):
        return
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.OperationalError):
        _fail(f"database error: {first_line}", 3)
    # a statement the database refused: say which error, not a traceback
    _fail(f"database error ({type(exc).__name__}): {first_line}", 1)


def _fail(message: str, code: int) -> None:
    typer.echo(f"sf: error: {message}", err=True)
    sys.exit(code)


def _register_command_modules() -> None:
    """Import the modules whose commands register themselves on `app`."""
    import sf_cli.api_cmd
    import sf_cli.artifacts_cmd
    import sf_cli.bench_cmd
    import sf_cli.job_control_cmd
    import sf_cli.operate  # noqa: F401
