"""`sf dev` on its embedded Postgres, as real processes: a killed one leaves nothing that changes the
next run, and a project under a folder named with spaces, quotes and non-ASCII letters just works."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from sleepy_factory.embedded import URL_FILE

from tests.support.children import SF, Child, Children
from tests.support.polling import wait_until
from tests.support.sf_commands import sf_new_job

pytestmark = pytest.mark.e2e

ODD = "My Projects/ünï 'q'"
ROLE_STARTED = "started: stage="  # each of the three workers logs it once running
ALL_DONE = "SELECT bool_and(status = 'DONE') FROM job_stages WHERE job_id = %s"


@pytest.fixture
def embedded_env(sf_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """`sf` children without DATABASE_URL: `sf dev` starts or joins the server under SF_DATA_DIR."""
    env = {k: v for k, v in sf_env.items() if k != "DATABASE_URL"}
    return {**env, "SF_DATA_DIR": str(tmp_path / "dev"), "SF_SIM_SECONDS": "0.02", "SF_POLL_SECONDS": "0.1"}


@pytest.fixture
def odd_dir() -> Iterator[Path]:
    """A folder named with a space, quotes and non-ASCII letters, on a short path: the wheel put the
    server's socket beside its data when the path was short enough, where the space broke it."""
    short = Path(tempfile.mkdtemp(prefix="sf-"))
    try:
        yield short / ODD
    finally:
        for server in servers_under(short):
            server.terminate()
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
def devs(embedded_env: dict[str, str], tmp_path: Path, odd_dir: Path) -> Iterator[Children]:
    # Takes odd_dir so that every sf dev has ended before odd_dir is cleaned up.
    started = Children(embedded_env, tmp_path)
    try:
        yield started
    finally:
        started.close()  # SIGKILLs a stuck sf dev, which leaves its server running: end that too
        for server in servers_under(tmp_path):
            server.terminate()


def servers_under(folder: Path) -> list[psutil.Process]:
    """Postgres processes working under folder (a server chdirs into its data directory)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "postgres" and Path(process.cwd()).is_relative_to(folder.resolve()):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def sf(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SF), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def wait_running(devs: Children, dev: Child) -> None:
    """Until every role of `dev` runs. (Signalled earlier, while its main thread is still logging,
    sf dev can deadlock in its own signal handler: issue 12 item 15, not what these tests are about.)"""
    devs.wait_until(lambda: len(dev.log_lines(ROLE_STARTED)) == 3, 120, what=f"{dev.name} to run")


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def test_a_killed_sf_dev_leaves_nothing_that_keeps_the_server_after_the_next_clean_exit(
    devs: Children, embedded_env: dict[str, str]
) -> None:
    data_dir = Path(embedded_env["SF_DATA_DIR"])
    pgdata = data_dir / "pgdata"
    crashed = devs.start("dev-crashed", "dev")
    wait_running(devs, crashed)
    server = postmaster_pid(pgdata)

    crashed.send(signal.SIGKILL)
    crashed.wait_exit(10)
    assert psutil.pid_exists(server), "the server outlives the sf dev that was killed"

    clean = devs.start("dev-clean", "dev")
    wait_running(devs, clean)
    assert postmaster_pid(pgdata) == server, "the stale server was not reused"
    url = (data_dir / URL_FILE).read_text().strip()
    with psycopg.connect(url) as conn:  # the recorded URL names this data directory's server
        row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        assert row is not None and Path(row[0]).resolve() == pgdata.resolve()

    clean.send(signal.SIGTERM)
    assert clean.wait_exit(60) == 0, clean.tail()
    assert servers_under(pgdata) == [], "a Postgres of this data directory is still running"
    assert not (pgdata / "postmaster.pid").exists()
    assert not (data_dir / URL_FILE).exists(), "the URL of a stopped server is still recorded"


def test_sf_dev_runs_a_job_under_a_folder_named_with_spaces_quotes_and_non_ascii(
    devs: Children, embedded_env: dict[str, str], odd_dir: Path
) -> None:
    data_dir = odd_dir / ".sf"
    env = {**embedded_env, "SF_DATA_DIR": str(data_dir), "SF_HANDLERS": "sim"}
    dev = devs.start("dev", "dev", env=env)
    wait_running(devs, dev)

    job_id = sf_new_job(env, "--topic", "tide pools")  # finds the server through the recorded URL

    url = (data_dir / URL_FILE).read_text().strip()
    with psycopg.connect(url, autocommit=True) as conn:
        devs.wait_until(lambda: conn.execute(ALL_DONE, (job_id,)).fetchone() == (True,), 60, what="DONE")
    shown = sf(env, "show-job", "--json", job_id)
    assert shown.returncode == 0, shown.stderr
    assert {s["status"] for s in json.loads(shown.stdout)["stage_details"]} == {"DONE"}
    dev.send(signal.SIGTERM)
    assert dev.wait_exit(60) == 0, dev.tail()
    wait_until(lambda: servers_under(data_dir / "pgdata") == [], 10, what="the server to stop")


def test_a_real_video_is_stored_and_exported_under_folders_named_with_spaces_quotes_and_non_ascii(
    devs: Children, embedded_env: dict[str, str], odd_dir: Path
) -> None:
    data_dir = odd_dir / ".sf"  # the artifacts go to their default place under it
    env = {**embedded_env, "SF_DATA_DIR": str(data_dir), "SF_HANDLERS": "media"}
    dev = devs.start("dev", "dev", env=env)
    wait_running(devs, dev)
    job_id = sf_new_job(env, "--topic", "tide pools", "--length-seconds", "10")
    url = (data_dir / URL_FILE).read_text().strip()
    with psycopg.connect(url, autocommit=True) as conn:
        devs.wait_until(
            lambda: conn.execute(ALL_DONE, (job_id,)).fetchone() == (True,),
            300,
            what="the video",
            interval=0.5,
        )
    target = odd_dir / "Vidéos d'été"

    exported = sf(env, "export", job_id, "--to", str(target))
    verified = sf(env, "verify", job_id)

    assert exported.returncode == 0, exported.stderr
    names = sorted(p.name.removeprefix(f"{job_id}-") for p in target.iterdir())
    assert names == [
        "captions.srt",
        "captions.vtt",
        "metadata.json",
        "script.json",
        "script.md",
        "thumbnail.png",
        "video.mp4",
    ]
    assert (target / f"{job_id}-video.mp4").stat().st_size > 10_000
    # What the upload form needs, within YouTube's limits (a short has no chapters).
    metadata = json.loads((target / f"{job_id}-metadata.json").read_text(encoding="utf-8"))
    assert 0 < len(metadata["title"]) <= 100 and "tide pools" in metadata["title"].lower()
    assert metadata["description"] and metadata["chapters"] == []
    assert metadata["tags"][:2] == ["tide pools", "shorts"]
    assert verified.returncode == 0, verified.stderr
    dev.send(signal.SIGTERM)
    assert dev.wait_exit(60) == 0, dev.tail()
    wait_until(lambda: servers_under(data_dir / "pgdata") == [], 10, what="the server to stop")


# Third-party lines that used to open every `sf dev` (issue 14, "quiet start-up").
NOISE = (
    "setup plugin",  # Alembic's plugin list
    "Context impl",  # Alembic's dialect
    "Will assume",
    "RuntimeDirWarning",  # platformdirs, without XDG_RUNTIME_DIR (containers, CI)
    "XDG_RUNTIME_DIR",
    "Started server process",  # uvicorn's banner; the api role logs its own URL line
    "Waiting for application startup",
    "Uvicorn running on",
)


def test_sf_dev_starts_without_third_party_noise(devs: Children, embedded_env: dict[str, str]) -> None:
    env = {k: v for k, v in embedded_env.items() if k != "XDG_RUNTIME_DIR"}
    dev = devs.start("dev", "dev", env={**env, "SF_HANDLERS": "sim", "SF_LOG_FORMAT": "text"})
    wait_running(devs, dev)
    devs.wait_for_log(dev, "dashboard and API at", 60)

    dev.send(signal.SIGTERM)
    assert dev.wait_exit(60) == 0, dev.tail()
    log = dev.log()
    assert "Running upgrade  -> 0001_initial" in log  # a fresh database: what changed is still said
    assert [line for line in log.splitlines() if any(n in line for n in NOISE)] == []
