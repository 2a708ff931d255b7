"""`sf export`, `sf verify` and `sf gc` through the real CLI, on real files registered in a real
database: paths with spaces and non-ASCII characters, unwritable export targets, and artifact rows
edited to point outside the store."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.artifacts import LocalStore, register_artifacts
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format

from tests.support.children import SF

ODD = "My Projects/ünï 'q'"  # a space, quotes and non-ASCII letters in one folder path
FILES = {  # kind: (stage, file name, content)
    "script_md": ("audio", "script.md", b"# Tide pools\n"),
    "captions": ("visuals", "captions.srt", b"1\n00:00:00,000 --> 00:00:01,000\nHi\n"),
    "video": ("render", "vidéo finale.mp4", b"\x00\x00\x00\x18ftypmp42 not really a video"),
}


def sf(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SF), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sf: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def env(sf_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**sf_env, "SF_ARTIFACT_DIR": str(tmp_path / ODD / "artifacts")}


@pytest.fixture
def store(env: dict[str, str]) -> LocalStore:
    return LocalStore(Path(env["SF_ARTIFACT_DIR"]))


@pytest.fixture
def finished_job(conn: psycopg.Connection[Any], store: LocalStore, tmp_path: Path) -> uuid.UUID:
    """A job whose script, captions and video are stored and registered, as a worker would."""
    job_id = create_job(conn, fmt=Format.SHORT, topic="tide pools")
    for kind, (stage, name, content) in FILES.items():
        scratch = store.workdir(job_id, stage, 1) / name
        scratch.write_bytes(content)
        artifact = store.put(job_id, stage, 1, kind=kind, source=scratch, media={})
        register_artifacts(conn, job_id=job_id, stage=stage, attempt=1, artifacts=[artifact])
    return job_id


def test_export_copies_the_video_captions_and_script_to_a_path_with_spaces_and_non_ascii(
    env: dict[str, str], finished_job: uuid.UUID, tmp_path: Path
) -> None:
    target = tmp_path / ODD / "exports" / "für Oma"

    result = sf(env, "export", str(finished_job), "--to", str(target))

    assert result.returncode == 0, result.stderr
    expected = {f"{finished_job}-{name}": content for _, name, content in FILES.values()}
    assert {p.name: p.read_bytes() for p in target.iterdir()} == expected
    assert sorted(result.stdout.splitlines()) == sorted(str(target / name) for name in expected)
    assert sf(env, "verify", str(finished_job)).returncode == 0


def test_show_job_gives_each_artifacts_local_file_and_takes_an_id_prefix(
    env: dict[str, str], finished_job: uuid.UUID, store: LocalStore
) -> None:
    prefix = str(finished_job)[:8]

    text = sf(env, "show-job", prefix)
    as_json = sf(env, "show-job", prefix, "--json")

    assert text.returncode == 0, text.stderr
    files = [line.split(" file ", 1)[1] for line in text.stdout.splitlines() if " file " in line]
    assert sorted(Path(f).name for f in files) == sorted(name for _, name, _ in FILES.values())
    for file in files:  # real, absolute paths under the store, with the odd characters intact
        assert Path(file).is_absolute() and Path(file).is_file() and store.root in Path(file).parents
    listed = json.loads(as_json.stdout)["artifacts"]
    assert sorted(a["path"] for a in listed) == sorted(files)
    assert all(Path(a["path"]).read_bytes() == FILES[a["kind"]][2] for a in listed)


def test_show_job_gives_no_path_for_a_row_pointing_outside_the_store(
    conn: psycopg.Connection[Any], env: dict[str, str], finished_job: uuid.UUID
) -> None:
    conn.execute("UPDATE artifacts SET uri = 'local:../../etc/passwd' WHERE job_id = %s", (finished_job,))
    result = sf(env, "show-job", str(finished_job), "--json")
    assert result.returncode == 0, result.stderr
    assert {a["path"] for a in json.loads(result.stdout)["artifacts"]} == {None}


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("/dev/null/x", "Not a directory"),  # under a file
        ("existing file", "not a directory"),
        ("/proc/sf-export", "cannot export to /proc/sf-export"),  # not even root may create it
        ("/proc", "cannot write /proc/"),  # a directory root cannot write into
    ],
)
def test_export_to_a_place_that_cannot_be_written_is_one_error_line(
    env: dict[str, str], finished_job: uuid.UUID, tmp_path: Path, where: str, fragment: str
) -> None:
    if where == "existing file":
        existing = tmp_path / ODD / "already here.mp4"
        existing.write_bytes(b"keep me")
        where = str(existing)

    result = sf(env, "export", str(finished_job), "--to", where)

    assert_one_error_line(result, fragment)
    if where.endswith("already here.mp4"):
        assert Path(where).read_bytes() == b"keep me"


@pytest.mark.parametrize(
    "uri", ["local:/etc/passwd", "local:../../outside/secret", "local:{job}/escape/secret"]
)
def test_an_artifact_row_pointing_outside_the_store_is_refused_by_export_and_verify(
    conn: psycopg.Connection[Any],
    env: dict[str, str],
    store: LocalStore,
    finished_job: uuid.UUID,
    tmp_path: Path,
    uri: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not an artifact\n")
    (store.root / str(finished_job) / "escape").symlink_to(outside)
    conn.execute(
        "UPDATE artifacts SET uri = %s WHERE job_id = %s AND kind = 'video'",
        (uri.format(job=finished_job), finished_job),
    )
    target = tmp_path / "exported"

    exported = sf(env, "export", str(finished_job), "--to", str(target))
    verified = sf(env, "verify", str(finished_job))

    assert_one_error_line(exported, "refusing artifact", "outside the store")
    assert not target.exists() or list(target.iterdir()) == []
    assert_one_error_line(verified, "refusing artifact", "outside the store")


def test_gc_refuses_a_store_directory_that_leads_outside_and_deletes_nothing_there(
    conn: psycopg.Connection[Any],
    env: dict[str, str],
    store: LocalStore,
    finished_job: uuid.UUID,
    tmp_path: Path,
) -> None:
    # An attempt directory of a job that no longer exists, reached through a symlink to elsewhere:
    # gc would delete it as garbage if it followed the link.
    outside = tmp_path / "outside"
    (outside / "render" / "1").mkdir(parents=True)
    (outside / "render" / "1" / "precious.mp4").write_bytes(b"someone else's file")
    (store.root / str(uuid.uuid4())).symlink_to(outside)
    conn.execute("UPDATE artifacts SET uri = 'local:/etc/passwd' WHERE job_id = %s", (finished_job,))

    result = sf(env, "gc", "--older-than", "0s")

    assert_one_error_line(result, "outside the store")
    assert (outside / "render" / "1" / "precious.mp4").read_bytes() == b"someone else's file"
