"""How jobs look on the terminal and as JSON. The JSON shapes are a documented, stable interface."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sleepy_factory.artifacts import ArtifactRow
from sleepy_factory.jobs import JobSummary, StageDetail
from sleepy_factory.progress import short_duration

TOPIC_WIDTH = 40


def job_json(job: JobSummary) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "format": job.format,
        "topic": job.topic,
        "params": job.params,
        "stages": job.stages,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
    }


def job_detail_json(job: JobSummary) -> dict[str, Any]:
    return {**job_json(job), "stage_details": [_stage_json(s) for s in job.stage_details]}


def _stage_json(stage: StageDetail) -> dict[str, Any]:
    return {
        "stage": stage.stage,
        "status": stage.status,
        "attempt": stage.attempt,
        "failures": stage.failures,
        "lease_losses": stage.lease_losses,
        "lease_owner": stage.lease_owner,
        "lease_expires_at": _iso(stage.lease_expires_at),
        "heartbeat_at": _iso(stage.heartbeat_at),
        "run_after": _iso(stage.run_after),
        "last_error": stage.last_error,
        "started_at": _iso(stage.started_at),
        "finished_at": _iso(stage.finished_at),
        "outputs": stage.outputs,
        "progress": stage.progress,
        "progress_note": stage.progress_note,
        "time_left_seconds": None if stage.time_left is None else round(stage.time_left.total_seconds(), 1),
    }


def progress_text(stage: StageDetail) -> str:
    """`42%, 3m05s left: speaking part 3 of 8` for a running stage that reported progress, else ``."""
    if stage.progress is None:
        return ""
    text = f"{stage.progress:.0%}"
    if stage.time_left is not None:
        text += f", {short_duration(stage.time_left)} left"
    if stage.progress_note:
        text += f": {safe_text(stage.progress_note, 80)}"
    return text


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def job_line(job: JobSummary) -> str:
    """`<id>  <format>  <topic>  audio=DONE visuals=DONE render=DONE attempts=3`"""
    stages = " ".join(f"{name}={status}" for name, status in job.stages.items())
    topic = safe_text(job.topic, TOPIC_WIDTH)
    return f"{job.id}  {job.format:<8}  {topic:<{TOPIC_WIDTH}}  {stages} attempts={job.attempts}"


def _params_summary(params: dict[str, Any]) -> dict[str, Any]:
    """Params for one line: a user's own script (up to 200,000 characters) as its size only."""
    script = params.get("script")
    if not isinstance(script, dict):
        return params
    sections = script.get("sections") or []
    sentences = sum(len(section.get("sentences") or []) for section in sections)
    return {**params, "script": f"{len(sections)} sections, {sentences} sentences"}


def job_detail_text(job: JobSummary) -> str:
    lines = [
        f"job        {job.id}",
        f"format     {job.format}",
        f"topic      {safe_text(job.topic, 200)}",
        f"params     {json.dumps(_params_summary(job.params), ensure_ascii=False)}",
        f"created    {job.created_at.isoformat(timespec='seconds')}",
        f"attempts   {job.attempts}",
        "",
        f"{'stage':<8} {'status':<8} {'attempt':>7} {'fails':>5} {'lost':>4}  {'lease owner':<36} "
        f"{'lease expires':<29} {'started':<29} {'finished':<29}",
    ]
    for s in job.stage_details:
        lines.append(
            f"{s.stage:<8} {s.status:<8} {s.attempt:>7} {s.failures:>5} {s.lease_losses:>4}  "
            f"{s.lease_owner or '-':<36} "
            f"{_iso(s.lease_expires_at) or '-':<29} {_iso(s.started_at) or '-':<29} "
            f"{_iso(s.finished_at) or '-':<29}"
        )
        if s.progress is not None:
            lines.append(f"         progress: {progress_text(s)}")
        if s.last_error:
            lines.append(f"         last error: {safe_text(s.last_error, 300)}")
    return "\n".join(lines)


def safe_text(text: str, width: int) -> str:
    """One printable line: control characters escaped, long text cut with an ellipsis."""
    flat = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def artifacts_json(artifacts: list[ArtifactRow], paths: Mapping[str, Path]) -> list[dict[str, Any]]:
    """`path` is the file of an artifact in the local store, null for a bucket's objects."""
    return [
        {
            "stage": a.stage,
            "kind": a.kind,
            "attempt": a.attempt,
            "uri": a.uri,
            "path": str(paths[a.uri]) if a.uri in paths else None,
            "bytes": a.bytes,
            "sha256": a.sha256,
            "media": a.media,
            "created_at": a.created_at.isoformat(),
        }
        for a in artifacts
    ]


def artifacts_text(artifacts: list[ArtifactRow], paths: Mapping[str, Path]) -> str:
    """One row per artifact; under each one in the local store, the file to open or copy."""
    if not artifacts:
        return "\nartifacts: none yet"
    lines = ["", f"{'stage':<8} {'kind':<12} {'bytes':>12}  {'sha256':<16}  uri"]
    for a in artifacts:
        lines.append(f"{a.stage:<8} {a.kind:<12} {a.bytes:>12}  {a.sha256[:16]}  {safe_text(a.uri, 120)}")
        if a.uri in paths:
            lines.append(f"{'':<8} file {safe_text(str(paths[a.uri]), 4096)}")
    return "\n".join(lines)
