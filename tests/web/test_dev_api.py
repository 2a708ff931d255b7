"""`sf dev` starts the dashboard too, says where, moves off a port that is taken, and stops it
promptly even while browsers hold event streams open."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import httpx

from tests.support.api_server import free_port
from tests.support.children import SF, Children
from tests.support.faults import faulty_sf


def test_sf_dev_prints_the_dashboard_url_and_picks_a_free_port_when_its_port_is_taken(
    sf_env: dict[str, str], tmp_path: Path
) -> None:
    children = Children(sf_env, tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        try:
            dev = children.start("dev", "dev", "--concurrency", "1", env={"SF_API_PORT": str(busy)})
            line = children.wait_for_log(dev, "dashboard and API: http://", 60)
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            assert match is not None, line
            port = int(match.group(1))
            assert port != busy

            def answers() -> bool:
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            children.wait_until(answers, 60, what="the dashboard started by sf dev to answer")

            # Stopping sf dev ends an open event stream at once instead of waiting it out.
            with socket.create_connection(("127.0.0.1", port), timeout=30) as browser:
                browser.sendall(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
                children.wait_until(lambda: b"event: hello" in browser.recv(4096), 30, what="the stream")
                dev.send(signal.SIGTERM)
                assert dev.wait_exit(60) == 0
            assert "graceful shutdown exceeded" not in dev.log()
        finally:
            children.close()


def _sf_api(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SF), "api", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_sf_api_without_a_database_fails_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "DATABASE_URL"))}
    result = _sf_api({**env, "SF_DATA_DIR": str(tmp_path / "none")}, "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("sf: error: no database configured")
    assert "Traceback" not in result.stderr


def test_sf_api_on_a_taken_port_fails_with_one_line(sf_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _sf_api(sf_env, "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert "is in use" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_sf_api_stops_with_exit_70_when_its_stage_feed_thread_dies(
    sf_env: dict[str, str], tmp_path: Path
) -> None:
    # The feed is the api's only background thread: dying of a bug must end the role, not leave a
    # server whose live pages silently stopped updating.
    children = Children(sf_env, tmp_path)
    trigger = tmp_path / "fault"
    health = tmp_path / "health"
    env = {"SF_API_TOKEN": "t", "SF_HEALTH_FILE": str(health), "SF_LOG_FORMAT": "json"}
    try:
        api = children.start(
            "api",
            "api",
            "--port",
            str(free_port()),
            env=env,
            program=faulty_sf(trigger, "function", "sf_api.feed:changes_after"),
        )
        children.wait_until(health.exists, 60, what="the stage feed to beat")
        trigger.touch()
        api.stopping = True
        assert api.wait_exit(60) == 70, api.tail()
        assert api.log_lines("stage-feed thread died"), api.tail()
        assert health.read_text().startswith("failed:")
    finally:
        children.close()
