"""Start each role from settings: the wiring shared by the role commands and `sf dev`.

Roles are imported inside each function so an image that carries only its own role (see the
Dockerfiles) can still run the CLI.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

import typer
from sleepy_factory.config import Settings
from sleepy_factory.errors import SleepyFactoryError
from sleepy_factory.health import HealthBeacon
from sleepy_factory.metrics import FactoryMetrics, meter_for
from sleepy_factory.registry import Registration, process_id
from sleepy_factory.runtime import open_role_pool
from sleepy_factory.supervision import Supervisor
from sleepy_factory.tracing import tracer_for
from sleepy_factory.wakeup import ORCHESTRATE_CHANNEL, start_listener


def orchestrator_loop(settings: Settings, stop: threading.Event, poll: float) -> None:
    role = _role("sf_orchestrator")
    pool = open_role_pool(settings, name="orchestrator", size=3, stop=stop)
    health = HealthBeacon(settings.health_file)
    supervisor = Supervisor(stop, health)
    wake = threading.Event()
    start_listener(settings, {ORCHESTRATE_CHANNEL: wake}, stop, supervisor)
    registration = Registration(pool, supervisor, id=process_id("orchestrator"), role="orchestrator")
    registration.start()
    try:
        role.run_orchestrator(
            pool,
            stop,
            poll,
            tracer=tracer_for("sf-orchestrator"),
            health=health,
            wake=wake,
            metrics=FactoryMetrics(meter_for("sf-orchestrator")),
        )
    finally:
        registration.stop()
        pool.close()
    supervisor.check()


def recovery_loop(settings: Settings, stop: threading.Event, poll: float) -> None:
    role = _role("sf_recovery")
    pool = open_role_pool(settings, name="recovery", size=3, stop=stop)
    health = HealthBeacon(settings.health_file)
    supervisor = Supervisor(stop, health)
    registration = Registration(pool, supervisor, id=process_id("recovery"), role="recovery").start()
    try:
        role.run_recovery(
            pool,
            settings,
            stop,
            poll,
            tracer=tracer_for("sf-recovery"),
            health=health,
            metrics=FactoryMetrics(meter_for("sf-recovery")),
        )
    finally:
        registration.stop()
        pool.close()
    supervisor.check()


def recovery_once(settings: Settings) -> int:
    role = _role("sf_recovery")
    pool = open_role_pool(settings, name="recovery", size=1)
    try:
        return int(
            role.recover_once(
                pool, settings, tracer_for("sf-recovery"), metrics=FactoryMetrics(meter_for("sf-recovery"))
            )
        )
    finally:
        pool.close()


def worker_loop(settings: Settings, stop: threading.Event, stage: str, concurrency: int) -> None:
    role = _role("sf_worker")
    # Handler threads, the claim loop, the heartbeat, the completer and the registry may each hold one.
    pool = open_role_pool(settings, name=f"worker-{stage}", size=concurrency + 4, stop=stop)
    health = HealthBeacon(settings.health_file)
    supervisor = Supervisor(stop, health)
    registration: Registration | None = None
    try:
        worker = role.Worker(
            pool,
            settings,
            stage=stage,
            handler=role.handler_for(stage, settings),
            concurrency=concurrency,
            tracer=tracer_for(f"sf-worker-{stage}"),
            health=health,
            metrics=FactoryMetrics(meter_for(f"sf-worker-{stage}")),
            supervisor=supervisor,
        )
        registration = Registration(pool, supervisor, id=worker.owner, role="worker", stage=stage)
        registration.start()
        worker.run(stop)
    finally:
        if registration is not None:
            registration.stop()
        pool.close()
    supervisor.check()


def api_server(
    settings: Settings,
    stop: threading.Event,
    *,
    host: str | None = None,
    port: int | None = None,
    pick_free_port: bool = False,
) -> None:
    """Serve the dashboard and HTTP API until `stop`; prints its URL first. `host` and `port`
    override SF_API_HOST and SF_API_PORT; `pick_free_port` moves off a port already taken."""
    role = _role("sf_api")
    api = role.load_api_settings()
    overrides = {k: v for k, v in (("api_host", host), ("api_port", port)) if v is not None}
    api = api.model_copy(update=overrides)
    role.check_bind(api)
    chosen = role.free_port(api.api_host, api.api_port) if pick_free_port else api.api_port
    typer.echo(f"dashboard and API: {role.url_of(api, chosen)}", err=True)
    role.serve(settings, api, stop, port=chosen)


def _role(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise SleepyFactoryError(
            f"this installation does not include the {module.removeprefix('sf_')} role "
            f"(install the {module.replace('_', '-')} package)"
        ) from None
