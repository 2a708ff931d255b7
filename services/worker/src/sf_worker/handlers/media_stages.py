"""The real stage handlers: a narrated, captioned video per job, through the artifact store.

- audio: script (script.md, script.json) and the spoken narration (narration.zip: one WAV per
  sentence plus its timings), published for the later stages;
- visuals: captions.srt and the title-card thumbnail;
- render: video.mp4 (H.264 + AAC, +faststart), mixed over the ambient bed for sleepy videos.

Each stage reads only the registered artifacts of earlier stages, so stages may run in different
processes or machines that share the artifact store.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from sleepy_factory.handlers import StageCancelledError, StageContext
from sleepy_factory.pipeline import DEFAULT_LENGTH_SECONDS, Format
from sleepy_factory.queue import JobSpec

from sf_worker.media import Narration, narrate, prepare_visuals, render, write_script
from sf_worker.media.errors import MediaCancelledError, MediaError
from sf_worker.media.publishing import metadata_json

NARRATION_ARCHIVE = "narration.zip"


def _length(job: JobSpec) -> int:
    value = job.params.get("length_seconds")
    return int(value) if value is not None else DEFAULT_LENGTH_SECONDS[Format(job.format)]


def _stop_if_cancelled(ctx: StageContext, stage: str) -> None:
    if ctx.cancelled.is_set():
        raise StageCancelledError(f"{stage} cancelled")


def _narration(ctx: StageContext) -> Narration:
    """The audio stage's narration, unpacked into this attempt's scratch directory."""
    archive = ctx.inputs().get("narration")
    if archive is None:
        raise MediaError("the audio stage left no narration artifact")
    target = ctx.workdir() / "narration"
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(target)
    return Narration.load(target)


class AudioStage:
    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        work = ctx.workdir()
        script = write_script(job.topic, job.format, _length(job), work)
        _stop_if_cancelled(ctx, stage)
        try:
            # Speaking is nearly all of the stage's time: it maps to 0-95 %, packing to the rest.
            narration = narrate(
                script,
                work,
                should_stop=ctx.cancelled.is_set,
                on_progress=lambda done, note: ctx.report_progress(0.95 * done, note),
            )
        except MediaCancelledError as exc:
            raise StageCancelledError(str(exc)) from exc
        _stop_if_cancelled(ctx, stage)
        ctx.report_progress(0.95, "packing the narration")
        archive = work / NARRATION_ARCHIVE
        # Stored, not deflated: WAV barely compresses and the render reads it back at once.
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
            for path in sorted(p for p in work.rglob("*") if _in_narration(p, work)):
                bundle.write(path, path.relative_to(work).as_posix())
        final = narration.script
        timing = {"duration_seconds": round(final.duration, 3), "sentences": len(final.sentences())}
        ctx.publish("script_md", work / "script.md")
        metadata = work / "metadata.json"
        metadata.write_text(metadata_json(final), encoding="utf-8")
        ctx.publish("metadata", metadata)
        ctx.publish("script_json", work / "script.json", timing)
        ctx.publish("narration", archive, timing)
        return {"title": final.title, **timing}


class VisualsStage:
    reads_job = False  # works from the audio stage's files only (see handlers.reads_job)

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        narration = _narration(ctx)
        visuals = prepare_visuals(narration, ctx.workdir() / "visuals")
        ctx.publish("captions", visuals.captions)
        ctx.publish("thumbnail", visuals.thumbnail)
        return {"captions": len(narration.script.sentences())}


class RenderStage:
    reads_job = False  # works from the audio stage's files only (see handlers.reads_job)

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        narration = _narration(ctx)
        _stop_if_cancelled(ctx, stage)
        try:
            result = render(
                narration,
                ctx.workdir() / "render",
                should_stop=ctx.cancelled.is_set,
                on_progress=ctx.report_progress,
            )
        except MediaCancelledError as exc:
            raise StageCancelledError(str(exc)) from exc
        info = result.info
        media = {
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "duration_seconds": round(info.duration, 3),
            "video_codec": info.video_codec,
            "audio_codec": info.audio_codec,
            "faststart": info.faststart,
        }
        ctx.publish("video", info.path, media)
        return {**media, "render_seconds": round(result.wall_seconds, 2)}


def _in_narration(path: Path, work: Path) -> bool:
    """The files `Narration.load` needs: narration.json and the per-sentence WAVs."""
    relative = path.relative_to(work)
    return path.is_file() and (relative.as_posix() == "narration.json" or relative.parts[0] == "speech")
