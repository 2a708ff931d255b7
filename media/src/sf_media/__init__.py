"""Media generation: script -> speech -> soundtrack and frames -> H.264/AAC MP4, all offline.

A pure library (no database, no queue): functions take inputs and an output directory and return
metadata dataclasses. See `pipeline` for how the work splits across the audio, visuals and render stages.
"""

from sf_media.ambient import AmbientBed
from sf_media.captions import caption_cues, to_srt, write_srt
from sf_media.errors import MediaError, SpeechError
from sf_media.formats import SAMPLE_RATE, FormatSpec, spec_for
from sf_media.layout import Box, safe_area
from sf_media.loudness import block_powers, integrated_loudness
from sf_media.mix import Cue, Soundtrack
from sf_media.options import VideoOptions
from sf_media.pipeline import (
    Narration,
    VideoResult,
    VisualsResult,
    make_video,
    narrate,
    prepare_visuals,
    render,
    soundtrack_for,
    write_script,
)
from sf_media.probe import MediaInfo, probe
from sf_media.render import RenderResult, render_video
from sf_media.script import Script, ScriptWriter, Section, Sentence, TemplateScriptWriter
from sf_media.speech import (
    EspeakSpeaker,
    PiperSpeaker,
    Speaker,
    ToneSpeaker,
    Utterance,
    default_speaker,
)
from sf_media.visuals import FrameSource

__all__ = [
    "SAMPLE_RATE",
    "AmbientBed",
    "Box",
    "Cue",
    "EspeakSpeaker",
    "FormatSpec",
    "FrameSource",
    "MediaError",
    "MediaInfo",
    "Narration",
    "PiperSpeaker",
    "RenderResult",
    "Script",
    "ScriptWriter",
    "Section",
    "Sentence",
    "Soundtrack",
    "Speaker",
    "SpeechError",
    "TemplateScriptWriter",
    "ToneSpeaker",
    "Utterance",
    "VideoOptions",
    "VideoResult",
    "VisualsResult",
    "block_powers",
    "caption_cues",
    "default_speaker",
    "integrated_loudness",
    "make_video",
    "narrate",
    "prepare_visuals",
    "probe",
    "render",
    "render_video",
    "safe_area",
    "soundtrack_for",
    "spec_for",
    "to_srt",
    "write_script",
    "write_srt",
]
