"""The media work of one job, split the way the factory's stages split it.

- audio stage: `write_script` + `narrate` (text-to-speech, then the script re-timed to the real speech)
- visuals stage: `prepare_visuals` (captions.srt and a title-card thumbnail; frames themselves are drawn
  lazily during the render, so there is nothing else to store)
- render stage: `render` (mix and encode video.mp4)

Each step reads and writes plain files in one job directory (`Narration.load` picks up what `narrate`
left), so stages can run in different processes or on different machines sharing that directory.
`make_video` runs all of them in one go.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sf_media.ambient import AmbientBed
from sf_media.caption_overlay import CaptionOverlay
from sf_media.caption_style import style_for
from sf_media.captions import write_captions
from sf_media.errors import MediaError
from sf_media.formats import SAMPLE_RATE, draft_of, spec_for
from sf_media.mix import Cue, MixSettings, Soundtrack
from sf_media.options import VideoOptions
from sf_media.render import RenderResult, render_video
from sf_media.script import Script, ScriptWriter, TemplateScriptWriter
from sf_media.speech import Speaker, Utterance, default_speaker
from sf_media.thumbnail import write_thumbnail
from sf_media.visuals import FrameSource

log = logging.getLogger(__name__)

NARRATION_FILE = "narration.json"
SPEECH_DIR = "speech"


@dataclass(frozen=True, slots=True)
class Narration:
    """The final script (timed by real speech) and one WAV per sentence, in the same order."""

    directory: Path
    script: Script
    utterances: tuple[Utterance, ...]

    def save(self) -> Path:
        data = {
            "script": self.script.to_dict(),
            "utterances": [
                {
                    "text": u.text,
                    "file": str(u.path.relative_to(self.directory)),
                    "seconds": round(u.seconds, 4),
                }
                for u in self.utterances
            ],
        }
        path = self.directory / NARRATION_FILE
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path) -> Narration:
        path = directory / NARRATION_FILE
        if not path.is_file():
            raise MediaError(f"{path} is missing: run the audio stage first")
        data = json.loads(path.read_text(encoding="utf-8"))
        script = Script.from_json(json.dumps(data["script"]))
        utterances = tuple(
            Utterance(u["text"], directory / u["file"], float(u["seconds"])) for u in data["utterances"]
        )
        return cls(directory, script, utterances)


@dataclass(frozen=True, slots=True)
class VisualsResult:
    captions: Path
    thumbnail: Path
    captions_vtt: Path | None = None  # the same cues as WebVTT


@dataclass(frozen=True, slots=True)
class VideoResult:
    narration: Narration
    visuals: VisualsResult
    render: RenderResult


def write_script(
    topic: str,
    format: str,
    length_seconds: int,
    out_dir: Path,
    writer: ScriptWriter | None = None,
    *,
    options: VideoOptions | None = None,
) -> Script:
    """The planned script (estimated timings), also saved as script.plan.json/.md for review.

    The writer plans for the job's speaking rate, so a faster voice gets more words to say."""
    pace = (options or VideoOptions()).speaking_rate
    script = (writer or TemplateScriptWriter()).write(topic, format, length_seconds, pace=pace)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "script.plan.json").write_text(script.to_json(), encoding="utf-8")
    (out_dir / "script.plan.md").write_text(script.to_markdown(), encoding="utf-8")
    return script


def narrate(
    script: Script,
    out_dir: Path,
    speaker: Speaker | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
    options: VideoOptions | None = None,
) -> Narration:
    """Speak every sentence, then re-time the script to the measured durations (audio stage).

    `should_stop` is asked between batches and while the speech engine runs; when it says yes the
    engine is killed and MediaCancelledError raised. `on_progress(fraction, note)` follows the
    sentences spoken.
    """
    spec = spec_for(script.format)
    options = options or VideoOptions()
    speaker = speaker or default_speaker(spec.speech_length_scale, options.voice, options.speaking_rate)
    texts = [sentence.text for sentence in script.sentences()]

    def spoken(done: int) -> None:
        if on_progress is not None:
            on_progress(done / max(len(texts), 1), f"spoke {done} of {len(texts)} sentences")

    utterances = speaker.speak_many(texts, out_dir / SPEECH_DIR, should_stop, spoken)
    final, kept = script.fitted([u.seconds for u in utterances])
    if len(kept) < len(utterances):
        log.info("dropped %d sentences that did not fit %s", len(utterances) - len(kept), script.format.value)
    narration = Narration(out_dir, final, tuple(utterances[index] for index in kept))
    (out_dir / "script.json").write_text(final.to_json(), encoding="utf-8")
    (out_dir / "script.md").write_text(final.to_markdown(), encoding="utf-8")
    narration.save()
    return narration


def prepare_visuals(
    narration: Narration, out_dir: Path, options: VideoOptions | None = None
) -> VisualsResult:
    """Captions (SRT and WebVTT, cut exactly as burned in) and a thumbnail (the title card) for the
    upload (visuals stage)."""
    options = options or VideoOptions()
    spec = spec_for(narration.script.format, options.aspect)
    out_dir.mkdir(parents=True, exist_ok=True)
    style = style_for(spec, options.caption_style)
    srt, vtt = write_captions(narration.script, out_dir, style.rules)
    thumbnail = write_thumbnail(narration.script, spec, out_dir / "thumbnail.png")
    return VisualsResult(srt, thumbnail, vtt)


def soundtrack_for(narration: Narration) -> Soundtrack:
    """The streamed mix: every sentence at its start time, over the format's bed, ducked and limited.

    The bed (style, key, chords, noise) is seeded by the topic and format: the same job always gets
    the same bed, different jobs get different ones.
    """
    script = narration.script
    spec = spec_for(script.format)
    bed = None
    if spec.bed_styles:
        key = f"{script.format.value}:{script.topic}".encode()
        seed = int.from_bytes(hashlib.sha256(key).digest()[:4], "big")
        style = AmbientBed.style_for(spec.bed_styles, seed)
        bed = AmbientBed(SAMPLE_RATE, spec.loudness_lufs - spec.bed_below_voice_lu, seed=seed, style=style)
    cues = [Cue(s.start, u.path) for s, u in zip(script.sentences(), narration.utterances, strict=True)]
    settings = MixSettings(
        target_lufs=spec.loudness_lufs, bed_below_voice_lu=spec.bed_below_voice_lu, duck_db=spec.duck_db
    )
    return Soundtrack(cues, duration=script.duration, sample_rate=SAMPLE_RATE, settings=settings, bed=bed)


def render(
    narration: Narration,
    out_dir: Path,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
    options: VideoOptions | None = None,
    *,
    draft: bool = False,
) -> RenderResult:
    """Mix and encode video.mp4 (render stage); `should_stop` can end it early; `on_progress`
    follows the seconds of video encoded; `draft` trades file size for a much faster encode."""
    options = options or VideoOptions()
    spec = spec_for(narration.script.format, options.aspect)
    spec = draft_of(spec) if draft else spec
    captions = CaptionOverlay(narration.script, spec, style_for(spec, options.caption_style))
    frames = FrameSource(narration.script, spec, captions)
    return render_video(
        frames, soundtrack_for(narration), out_dir / "video.mp4", should_stop, on_progress, draft=draft
    )


def make_video(
    topic: str,
    format: str,
    length_seconds: int,
    out_dir: Path,
    *,
    writer: ScriptWriter | None = None,
    speaker: Speaker | None = None,
    options: VideoOptions | None = None,
) -> VideoResult:
    """Every stage in one call: script, speech, captions, video."""
    script = write_script(topic, format, length_seconds, out_dir, writer, options=options)
    narration = narrate(script, out_dir, speaker, options=options)
    visuals = prepare_visuals(narration, out_dir, options)
    return VideoResult(narration, visuals, render(narration, out_dir, options=options))
