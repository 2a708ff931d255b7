"""`sf bench`: end-to-end jobs/s of real worker processes against the raw SKIP LOCKED floor.

Registers itself on `app` when main imports it; the benchmark itself (sf_cli.bench) is imported
only when the command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sf_cli.app import JsonFlag, app


@app.command()
def bench(
    jobs: Annotated[int, typer.Option(min=1, max=10_000_000, help="Jobs to push through.")] = 20_000,
    workers_per_stage: Annotated[int, typer.Option(min=1, max=64, help="Worker processes per stage.")] = 1,
    concurrency: Annotated[
        int, typer.Option(min=1, max=1024, help="Handlers (and claim batch) per worker.")
    ] = 64,
    latency: Annotated[bool, typer.Option("--latency", help="Also measure idle handoff latency.")] = False,
    backlog: Annotated[
        int,
        typer.Option(
            min=0, max=100_000_000, help="Also compare claim rates with 10,000 and this many waiting jobs."
        ),
    ] = 0,
    peer_command: Annotated[
        str | None,
        typer.Option(
            help="Then run this shell command on a fresh scratch database of the same server (its URL in "
            "DATABASE_URL) and compare: its last JSON line must hold jobs_per_s."
        ),
    ] = None,
    analyze: Annotated[
        bool,
        typer.Option(
            "--analyze",
            help="ANALYZE the loaded jobs before the clock starts (as autovacuum soon would); by default "
            "the drain starts with the empty tables' statistics, as right after a bulk load.",
        ),
    ] = False,
    json: JsonFlag = False,
) -> None:
    """Measure end-to-end jobs/s of real workers (no-op handlers) against the raw SKIP LOCKED floor.

    Runs in a scratch database on the configured server (or the embedded one) and drops it after.
    """
    from sleepy_factory.config import load_settings
    from sleepy_factory.embedded import recorded_url, start_embedded
    from sleepy_factory.logs import configure_logging

    from sf_cli import render
    from sf_cli.bench import BenchOptions, run_bench
    from sf_cli.bench.report import bench_text

    settings = load_settings()
    configure_logging(settings.log_format, default_level="WARNING", level=settings.log_level)
    url = (
        (settings.database_url.get_secret_value() if settings.database_url else None)
        or recorded_url(settings.data_dir)
        or start_embedded(settings.data_dir, record=False)
    )
    options = BenchOptions(
        jobs=jobs,
        workers_per_stage=workers_per_stage,
        concurrency=concurrency,
        latency=latency,
        backlog=backlog,
        peer_command=peer_command,
        analyze=analyze,
    )
    result = run_bench(url, options)
    typer.echo(render.dumps(result.as_json()) if json else bench_text(result.as_json()))
