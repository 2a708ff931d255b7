"""Run real `sf worker` processes against a scratch database and measure them."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from sleepy_factory.db import connect
from sleepy_factory.errors import SleepyFactoryError
from sleepy_factory.pipeline import ALL_STAGES
from sleepy_factory.queue import Connection

from sf_cli.bench import server_stats
from sf_cli.bench.backlog import audio_runs_per_second
from sf_cli.bench.floor import measure_floor
from sf_cli.bench.load import all_done, insert_jobs
from sf_cli.bench.peer import run_peer
from sf_cli.bench.scratch_db import scratch_database
from sf_cli.bench.server_cpu import cpu_seconds, server_process

SF = str(Path(sys.executable).parent / "sf")
SMALL_BACKLOG = 10_000
BACKLOG_RUNS = 5_000  # timed claims per backlog size: half the small backlog

# Handoff: stage N+1 claimed (its handler starts right after) minus stage N completed, both read
# from the database clock, over consecutive stages of jobs run one at a time on an idle factory.
HANDOFF_GAPS = """
SELECT extract(epoch FROM nxt.started_at - prev.finished_at) * 1000
FROM job_stages AS prev JOIN job_stages AS nxt
  ON nxt.job_id = prev.job_id AND nxt.position = prev.position + 1
WHERE prev.status = 'DONE' AND nxt.status = 'DONE'
"""


@dataclass(frozen=True)
class BenchOptions:
    jobs: int = 20_000
    workers_per_stage: int = 1
    concurrency: int = 64
    latency: bool = False
    latency_jobs: int = 200
    timeout: float = 600.0
    backlog: int = 0  # with a backlog, also compare audio claim rates at 10,000 and this many jobs
    peer_command: str | None = None  # run right after on a fresh scratch database; compare jobs/s
    # ANALYZE the loaded jobs before the clock starts, as autovacuum soon would on a live database;
    # by default the drain starts on the statistics of the empty tables, as right after a bulk load.
    analyze: bool = False


@dataclass
class BenchResult:
    jobs: int
    workers_per_stage: int
    concurrency: int
    seconds: float
    jobs_per_s: float
    stage_runs_per_s: float
    # The cost per stage run: CPU of the Postgres server processes and of the bench's processes.
    server_cpu_us_per_run: float | None
    clients_cpu_us_per_run: float
    total_cpu_us_per_run: float | None
    wal_bytes_per_run: float
    wal_records_per_run: float | None
    wal_fpi_per_run: float | None
    commits_per_run: float | None
    job_stages_updates_per_run: float | None
    job_stages_hot_update_ratio: float | None
    job_stages_new_page_update_ratio: float | None
    floor_rows_per_s: float
    floor_jobs_per_s: float
    ratio_to_floor: float
    server_cpu_s: float | None
    clients_cpu_s: float
    # The planner's idea of job_stages' size when the clock started (pg_class.reltuples; -1 when
    # the table was never analyzed): which statistics the statements were planned with.
    planner_job_stages_rows: float | None = None
    top_statements: list[dict[str, Any]] | None = None
    handoff_p50_ms: float | None = None
    handoff_p99_ms: float | None = None
    backlog_small_runs_per_s: float | None = None
    backlog_large_runs_per_s: float | None = None
    backlog_ratio: float | None = None
    peer: dict[str, Any] | None = None
    ratio_to_peer: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def run_bench(server_url: str, options: BenchOptions) -> BenchResult:
    with scratch_database(server_url) as url, tempfile.TemporaryDirectory(prefix="sf-bench-") as tmp:
        with connect(url) as conn:
            conn.execute("SET max_parallel_workers_per_gather = 0")  # polling must stay cheap
            server = server_process(conn)
            statements = server_stats.enable_statements(conn)
            factory = _Factory(url, options, Path(tmp))
            try:
                factory.start_and_wait_ready()
                _create_jobs(conn, options.jobs)  # untimed, like the creation of the jobs it stands for
                if options.analyze:
                    conn.execute("ANALYZE jobs")
                    conn.execute("ANALYZE job_stages")
                planner_rows = _planner_rows(conn, "job_stages")
                stats_before = server_stats.snapshot(conn, statements=statements)
                cpu_before = cpu_seconds(server), factory.cpu()
                seconds = _time_drain(conn, factory, options.timeout)
                server_cpu = _delta(cpu_seconds(server), cpu_before[0])
                clients_cpu = factory.cpu() - cpu_before[1]
                wal_bytes = server_stats.wal_bytes_since(conn, stats_before)
            finally:
                factory.stop()
            # Ended backends have published all their counters: the figures are complete.
            server_stats.await_other_backends_gone(conn, options.timeout)
            counters = server_stats.figures(
                conn, stats_before, server_stats.snapshot(conn), statements=statements
            )
            p50 = p99 = None
            if options.latency:
                p50, p99 = _handoff_latency(conn, url, options, Path(tmp))
        small = large = None
        if options.backlog:
            small, large = _backlog_rates(url, options, Path(tmp))
        floor = measure_floor(
            url,
            rows=options.jobs * len(ALL_STAGES),
            clients=options.workers_per_stage * len(ALL_STAGES),
            batch=options.concurrency,
        )
    peer = run_peer(server_url, options.peer_command, options.timeout) if options.peer_command else None
    jobs_per_s = options.jobs / seconds
    runs = options.jobs * len(ALL_STAGES)

    def per_run(total: float | None, scale: float = 1.0) -> float | None:
        return None if total is None else total * scale / runs

    return BenchResult(
        jobs=options.jobs,
        workers_per_stage=options.workers_per_stage,
        concurrency=options.concurrency,
        seconds=seconds,
        jobs_per_s=jobs_per_s,
        stage_runs_per_s=jobs_per_s * len(ALL_STAGES),
        server_cpu_us_per_run=per_run(server_cpu, 1e6),
        clients_cpu_us_per_run=clients_cpu * 1e6 / runs,
        total_cpu_us_per_run=per_run(None if server_cpu is None else server_cpu + clients_cpu, 1e6),
        wal_bytes_per_run=wal_bytes / runs,
        wal_records_per_run=per_run(counters.wal_records),
        wal_fpi_per_run=per_run(counters.wal_fpi),
        commits_per_run=per_run(counters.commits),
        job_stages_updates_per_run=per_run(counters.job_stages_updates),
        job_stages_hot_update_ratio=_ratio(counters.job_stages_hot_updates, counters.job_stages_updates),
        job_stages_new_page_update_ratio=_ratio(
            counters.job_stages_new_page_updates, counters.job_stages_updates
        ),
        top_statements=counters.top_statements,
        floor_rows_per_s=floor,
        floor_jobs_per_s=floor / len(ALL_STAGES),
        ratio_to_floor=jobs_per_s / (floor / len(ALL_STAGES)),
        server_cpu_s=server_cpu,
        clients_cpu_s=clients_cpu,
        planner_job_stages_rows=planner_rows,
        handoff_p50_ms=p50,
        handoff_p99_ms=p99,
        backlog_small_runs_per_s=small,
        backlog_large_runs_per_s=large,
        backlog_ratio=None if small is None or large is None else large / small,
        peer=peer,
        ratio_to_peer=_ratio(jobs_per_s, peer.get("jobs_per_s") if peer else None),
    )


def _ratio(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else part / whole


def _backlog_rates(url: str, options: BenchOptions, tmp: Path) -> tuple[float, float]:
    def start_audio_workers() -> Callable[[], None]:
        factory = _Factory(url, options, tmp, stages=("audio",), orchestrator=False)
        factory.start_and_wait_ready()
        return factory.stop

    return tuple(  # type: ignore[return-value]
        audio_runs_per_second(url, waiting=waiting, runs=BACKLOG_RUNS, start_workers=start_audio_workers)
        for waiting in (SMALL_BACKLOG, options.backlog)
    )


class _Factory:
    """An orchestrator and `workers_per_stage` workers per stage, as separate processes."""

    def __init__(
        self,
        url: str,
        options: BenchOptions,
        tmp: Path,
        *,
        stages: tuple[str, ...] = ALL_STAGES,
        orchestrator: bool = True,
    ) -> None:
        self._url = url
        self._options = options
        self._tmp = tmp
        self._stages = stages
        self._orchestrator = orchestrator
        self._processes: list[subprocess.Popen[bytes]] = []
        self._health_files: list[Path] = []

    def _start(self, name: str, *args: str) -> None:
        health = self._tmp / f"{name}.health"
        health.unlink(missing_ok=True)
        env = {
            **os.environ,
            "DATABASE_URL": self._url,
            "SF_HANDLERS": "sim",
            "SF_SIM_SECONDS": "0",
            "SF_SIM_FAIL_RATE": "0",
            "SF_LOG_LEVEL": "WARNING",  # per-run INFO lines would measure the terminal, not the queue
            "SF_HEALTH_FILE": str(health),
        }
        log = (self._tmp / f"{name}.log").open("wb")
        self._processes.append(subprocess.Popen([SF, *args], env=env, stdout=log, stderr=log))
        self._health_files.append(health)

    def start_and_wait_ready(self) -> None:
        if self._orchestrator:
            self._start("orchestrator", "orchestrator-loop", "--poll", "1.0")
        for stage in self._stages:
            for index in range(self._options.workers_per_stage):
                self._start(
                    f"worker-{stage}-{index}",
                    "worker",
                    "--stage",
                    stage,
                    "--concurrency",
                    str(self._options.concurrency),
                )
        deadline = time.monotonic() + 60
        while not all(path.exists() for path in self._health_files):
            self._check_alive()
            if time.monotonic() > deadline:
                raise SleepyFactoryError(f"bench workers did not start; see logs in {self._tmp}")
            time.sleep(0.05)

    def _check_alive(self) -> None:
        for process in self._processes:
            if process.poll() is not None:
                raise SleepyFactoryError(f"a bench process exited with {process.returncode}; see {self._tmp}")

    def cpu(self) -> float:
        total = 0.0
        for process in self._processes:
            try:
                times = psutil.Process(process.pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _planner_rows(conn: Connection, table: str) -> float | None:
    row = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table]).fetchone()
    return float(row[0]) if row else None


def _create_jobs(conn: Connection, jobs: int) -> None:
    with conn.transaction():
        insert_jobs(conn, jobs)
        conn.execute("NOTIFY sf_orchestrate")  # as `sf new-job` does


def _time_drain(conn: Connection, factory: _Factory, timeout: float) -> float:
    """From the bulk insert's commit (the jobs' creation) to every stage DONE, factory idle before."""
    started = time.perf_counter()
    deadline = started + timeout
    while not all_done(conn):
        factory._check_alive()
        if time.perf_counter() > deadline:
            raise SleepyFactoryError(f"bench did not finish within {timeout:.0f}s")
        time.sleep(0.02)
    return time.perf_counter() - started


def _handoff_latency(conn: Connection, url: str, options: BenchOptions, tmp: Path) -> tuple[float, float]:
    """Run jobs one at a time on a fresh, idle factory; p50/p99 of stage-to-stage handoff."""
    conn.execute("TRUNCATE jobs CASCADE")
    factory = _Factory(url, options, tmp)
    try:
        factory.start_and_wait_ready()
        deadline = time.perf_counter() + options.timeout
        for _ in range(options.latency_jobs):
            _create_jobs(conn, 1)
            while not all_done(conn):
                factory._check_alive()
                if time.perf_counter() > deadline:
                    raise SleepyFactoryError("latency run did not finish in time")
                time.sleep(0.002)
    finally:
        factory.stop()
    gaps = sorted(float(row[0]) for row in conn.execute(HANDOFF_GAPS).fetchall())
    quantiles = statistics.quantiles(gaps, n=100, method="inclusive")
    return quantiles[49], quantiles[98]


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before
