"""Real videos through the real pipeline: separate `sf` processes, real Postgres, the real media
handlers (Piper speech, Pillow frames, PyAV encoding) and the artifact store."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np
import psycopg
import pytest
from sleepy_factory.artifacts import LocalStore, list_artifacts
from sleepy_factory.artifacts.maintenance import collect_garbage

from tests.support.children import SF, Children
from tests.support.sf_commands import sf_new_job
from tests.support.stage_rows import stage_in

pytestmark = pytest.mark.e2e

SIZES = {"short": (1080, 1920), "longform": (1920, 1080), "sleepy": (1920, 1080)}
ALL_DONE = "SELECT bool_and(status = 'DONE') FROM job_stages WHERE job_id = %s"


@pytest.fixture
def media_env(sf_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**sf_env, "SF_HANDLERS": "media", "SF_ARTIFACT_DIR": str(tmp_path / "artifacts")}


def _audio_rms(path: Path) -> float:
    with av.open(str(path)) as container:
        samples = [frame.to_ndarray().astype(np.float64).ravel() for frame in container.decode(audio=0)]
    pcm = np.concatenate(samples)
    return float(np.sqrt(np.mean(pcm**2)))


def _check_video(conn: psycopg.Connection[Any], env: dict[str, str], job_id: str, fmt: str) -> None:
    store = LocalStore(Path(env["SF_ARTIFACT_DIR"]))
    artifacts = {a.kind: a for a in list_artifacts(conn, job_id)}  # type: ignore[arg-type]
    assert set(artifacts) == {
        "script_md",
        "script_json",
        "metadata",
        "narration",
        "captions",
        "captions_vtt",
        "thumbnail",
        "video",
    }
    video = store.path(artifacts["video"].uri)
    script_seconds = float(artifacts["script_json"].media["duration_seconds"])
    with av.open(str(video)) as container:
        v, a = container.streams.video[0], container.streams.audio[0]
        assert (v.codec_context.name, a.codec_context.name) == ("h264", "aac")
        assert (v.codec_context.width, v.codec_context.height) == SIZES[fmt]
        duration = (container.duration or 0) / av.time_base
    assert abs(duration - script_seconds) <= 1.0, (duration, script_seconds)
    assert _audio_rms(video) > 0.005, "the soundtrack is silent"
    assert "-->" in store.path(artifacts["captions"].uri).read_text()
    verified = subprocess.run(
        [str(SF), "verify", job_id], env=env, capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stderr


def test_a_short_a_longform_and_a_sleepy_video_come_out_playable(
    conn: psycopg.Connection[Any], media_env: dict[str, str], children: Children
) -> None:
    jobs = {
        fmt: sf_new_job(media_env, "--format", fmt, "--topic", "tide pools", "--length-seconds", str(seconds))
        for fmt, seconds in (("short", 20), ("longform", 60), ("sleepy", 60))
    }
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.2", env=media_env)
    for stage in ("audio", "visuals", "render"):
        children.start(f"worker-{stage}", "worker", "--stage", stage, env=media_env)
    for job_id in jobs.values():

        def rendered(job_id: str = job_id) -> bool:
            return conn.execute(ALL_DONE, (job_id,)).fetchone() == (True,)

        children.wait_until(
            rendered,
            300,
            what="the videos to render",
            interval=0.5,
        )
    for fmt, job_id in jobs.items():
        _check_video(conn, media_env, job_id, fmt)


def test_a_render_killed_midway_is_redone_once_and_its_leftovers_collected(
    conn: psycopg.Connection[Any], media_env: dict[str, str], children: Children
) -> None:
    env = {**media_env, "SF_LEASE_SECONDS": "2"}
    job_id = sf_new_job(env, "--format", "short", "--topic", "tide pools", "--length-seconds", "30")
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.2", env=env)
    children.start("recovery", "recovery", "--poll", "0.3", env=env)
    children.start("worker-audio", "worker", "--stage", "audio", env=env)
    children.start("worker-visuals", "worker", "--stage", "visuals", env=env)
    victim = children.start("victim-render", "worker", "--stage", "render", env=env)
    store = LocalStore(Path(env["SF_ARTIFACT_DIR"]))
    # Midway: the render has begun writing its video in its scratch directory.
    children.wait_until(
        lambda: (
            stage_in(conn, job_id, "render", "RUNNING")
            and any((p / ".work" / "render").exists() for _, s, _, p in store.attempt_dirs() if s == "render")
        ),
        120,
        what="the render to be under way",
        interval=0.1,
    )
    victim.send(signal.SIGKILL)
    victim.wait_exit(10)
    children.start("rescuer-render", "worker", "--stage", "render", env=env)
    children.wait_until(
        lambda: conn.execute(ALL_DONE, (job_id,)).fetchone() == (True,),
        180,
        what="the rescued render",
        interval=0.5,
    )

    rows = conn.execute(
        "SELECT stage, kind, attempt FROM artifacts WHERE job_id = %s ORDER BY stage, kind", (job_id,)
    ).fetchall()
    assert sorted(kind for _, kind, _ in rows) == sorted(
        [
            "captions",
            "captions_vtt",
            "metadata",
            "narration",
            "script_json",
            "script_md",
            "thumbnail",
            "video",
        ]
    )  # exactly one registered artifact per kind
    assert [attempt for stage, _, attempt in rows if stage == "render"] == [2]
    _check_video(conn, env, job_id, "short")

    dead_attempt = [p for _, s, a, p in store.attempt_dirs() if s == "render" and a == 1]
    assert dead_attempt, "the killed attempt left its partial files behind"
    report = collect_garbage(conn, store, older_than=dt.timedelta(0))
    assert dead_attempt[0] in report.removed
    assert not dead_attempt[0].exists()
