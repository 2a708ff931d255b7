"""The real stage handlers: a narrated, captioned video per job, through the artifact store.

- audio: script (script.md, script.json, metadata.json; script.prompt.json when an LLM wrote it)
  and the spoken narration (narration.zip: one WAV per sentence plus its timings), published for
  the later stages. The job's own script if it has one, else an LLM when SF_LLM_BASE_URL is set,
  else the template writer; the job's voice, rate and aspect ratio reach every stage as VideoOptions;
- visuals: captions.srt and captions.vtt (the cues burned into the picture) and the title-card thumbnail;
- render: video.mp4 (H.264 + AAC, +faststart), mixed over the ambient bed for sleepy videos.

Each stage reads only the registered artifacts of earlier stages, so stages may run in different
processes or machines that share the artifact store.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from sf_media import Narration, VideoOptions, narrate, prepare_visuals, render, write_script
from sf_media.caption_style import parse_overrides
from sf_media.errors import MediaCancelledError, MediaError
from sf_media.given_script import GivenScriptWriter
from sf_media.llm_client import LLMConfig
from sf_media.llm_writer import PROMPT_RECORD, LLMScriptWriter
from sf_media.publishing import metadata_json
from sf_media.script import ScriptWriter, TemplateScriptWriter
from sleepy_factory.config import Settings
from sleepy_factory.errors import ConfigError
from sleepy_factory.handlers import StageCancelledError, StageContext
from sleepy_factory.pipeline import DEFAULT_LENGTH_SECONDS, Format
from sleepy_factory.queue import JobSpec

NARRATION_ARCHIVE = "narration.zip"
LLM_DRAFTS = "llm-drafts"


def llm_config(settings: Settings) -> LLMConfig | None:
    """The script server from SF_LLM_*; None (the template writer) when SF_LLM_BASE_URL is unset."""
    if settings.llm_base_url is None:
        return None
    key = settings.llm_api_key
    return LLMConfig(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=key.get_secret_value() if key is not None else None,
        timeout=settings.llm_timeout,
        temperature=settings.llm_temperature,
        max_retries=settings.llm_max_retries,
    )


def video_options(job: JobSpec, base: VideoOptions | None = None) -> VideoOptions:
    """The job's own aspect ratio, voice and speaking rate (validated when the job was created), over
    the worker-wide options (the caption style from SF_CAPTION_STYLE)."""
    rate = job.params.get("speaking_rate")
    return replace(
        base or VideoOptions(),
        aspect=job.params.get("aspect"),
        voice=job.params.get("voice"),
        speaking_rate=float(rate) if rate is not None else 1.0,
    )


def _writer_and_length(
    job: JobSpec, work: Path, llm: LLMConfig | None, pace: float
) -> tuple[ScriptWriter, int]:
    """Who writes the job's script, and for how long a video."""
    value = job.params.get("length_seconds")
    given = job.params.get("script")
    if given is not None:
        writer = GivenScriptWriter(given)
        return writer, int(value) if value is not None else writer.natural_length(job.format, pace)
    length = int(value) if value is not None else DEFAULT_LENGTH_SECONDS[Format(job.format)]
    if llm is None:
        return TemplateScriptWriter(), length
    drafts = work / LLM_DRAFTS
    resume_llm_drafts(work, drafts)
    return LLMScriptWriter(llm, drafts, record_dir=work), length


def resume_llm_drafts(work: Path, drafts: Path) -> None:
    """Copy the newest earlier attempt's LLM drafts into this attempt's, so a retried stage asks the
    server only for the sections it does not have yet (attempts are siblings: <stage>/<n>/work)."""
    earlier = [
        path / work.name / LLM_DRAFTS
        for path in work.parent.parent.iterdir()
        if path.name.isdigit() and path != work.parent and (path / work.name / LLM_DRAFTS).is_dir()
    ]
    if earlier and not drafts.exists():
        newest = max(earlier, key=lambda path: int(path.parent.parent.name))
        shutil.copytree(newest, drafts)


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
    def __init__(self, llm: LLMConfig | None = None) -> None:
        self.llm = llm

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        work = ctx.workdir()
        options = video_options(job)
        writer, length = _writer_and_length(job, work, self.llm, options.speaking_rate)
        script = write_script(job.topic, job.format, length, work, writer, options=options)
        _stop_if_cancelled(ctx, stage)
        try:
            # Speaking is nearly all of the stage's time: it maps to 0-95 %, packing to the rest.
            narration = narrate(
                script,
                work,
                should_stop=ctx.cancelled.is_set,
                on_progress=lambda done, note: ctx.report_progress(0.95 * done, note),
                options=options,
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
        if (work / PROMPT_RECORD).is_file():  # the prompts and model an LLM wrote the script with
            ctx.publish("script_prompt", work / PROMPT_RECORD)
        return {"title": final.title, "writer": type(writer).__name__, **timing}


def _options(caption_style: str | None) -> VideoOptions:
    """Video options from the worker's settings; a bad SF_CAPTION_STYLE stops the worker at start."""
    try:
        return VideoOptions(caption_style=parse_overrides(caption_style) if caption_style else None)
    except MediaError as exc:
        raise ConfigError(f"invalid setting SF_CAPTION_STYLE: {exc}") from None


class VisualsStage:
    # Reads the job: its params carry the aspect ratio and the other per-job options.
    def __init__(self, caption_style: str | None = None) -> None:
        self._options = _options(caption_style)

    def _options_for(self, job: JobSpec) -> VideoOptions:
        return video_options(job, self._options)

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        narration = _narration(ctx)
        visuals = prepare_visuals(narration, ctx.workdir() / "visuals", self._options_for(job))
        ctx.publish("captions", visuals.captions)
        if visuals.captions_vtt is not None:
            ctx.publish("captions_vtt", visuals.captions_vtt)
        ctx.publish("thumbnail", visuals.thumbnail)
        return {"captions": len(narration.script.sentences())}


class RenderStage:
    # Reads the job: its params carry the aspect ratio and the other per-job options.
    def __init__(self, caption_style: str | None = None) -> None:
        self._options = _options(caption_style)

    def _options_for(self, job: JobSpec) -> VideoOptions:
        return video_options(job, self._options)

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        narration = _narration(ctx)
        _stop_if_cancelled(ctx, stage)
        try:
            result = render(
                narration,
                ctx.workdir() / "render",
                should_stop=ctx.cancelled.is_set,
                on_progress=ctx.report_progress,
                options=self._options_for(job),
                draft=bool(job.params.get("draft", False)),
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
