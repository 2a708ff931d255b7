"""What each video format looks and sounds like: one frozen spec per format, no behaviour.

Every number that differs between short, longform and sleepy lives here, so a reviewer compares the
formats in one table instead of hunting for `if fmt == ...` branches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from sf_media.errors import MediaError
from sf_media.options import ASPECT_SIZES


class Format(StrEnum):
    """The kinds of video the library makes; the queue's formats carry the same names."""

    SHORT = "short"
    LONGFORM = "longform"
    SLEEPY = "sleepy"


# Longest video per format: shorts stay under YouTube's one-minute limit.
MAX_LENGTH_SECONDS: Mapping[Format, int] = {
    Format.SHORT: 59,
    Format.LONGFORM: 4 * 3600,
    Format.SLEEPY: 10 * 3600,
}


@dataclass(frozen=True, slots=True)
class FormatSpec:
    """Picture, pacing, loudness and encoder settings of one format."""

    format: Format
    width: int
    height: int
    fps: int
    # Longest finished video; shorts must stay under YouTube's one-minute limit.
    max_seconds: float
    # Speech-rate estimate the script writer plans with; real TTS durations replace it later. Measured
    # with the bundled Piper voice at this format's `speech_length_scale` (3.4 words/s at 1.0, 2.9 at
    # 1.3, 2.2 at 1.6), so the spoken script fills the requested length.
    words_per_second: float
    lead_in_seconds: float  # title card before the first sentence
    tail_seconds: float  # after the last sentence
    sentence_gap_seconds: float  # minimum pause between sentences
    section_gap_seconds: float
    # Sleepy: narration covers at most this span, then the ambient bed carries on alone.
    narration_span_max_seconds: float
    # Share of the narration span that is speech (sleepy only; short/longform talk continuously).
    speech_fraction: float
    # Integrated loudness (LUFS) of the finished programme (narration and bed together).
    loudness_lufs: float
    # Beds this format may use (the job's seed picks one; empty = no bed), how far under the voice
    # the bed sits (LU), and how much further it ducks while a sentence plays (dB).
    bed_styles: tuple[str, ...]
    bed_below_voice_lu: float
    duck_db: float
    # Safe area as fractions of the frame: text never enters these margins.
    safe_top: float
    safe_bottom: float
    safe_side: float
    # Sleepy backgrounds drift; each step is one new picture, reused for every frame in between.
    background_step_seconds: float | None
    keyint_seconds: float
    # ultrafast everywhere: slides are static, so the slower presets' extra analysis buys only a
    # smaller file (about half) at twice the render time and twice the encoder memory; YouTube
    # re-encodes the upload anyway.
    x264_preset: str
    crf: int
    audio_bitrate: int
    # Piper phoneme length (>1 is slower speech): sleepy narration is deliberately unhurried.
    speech_length_scale: float

    @property
    def vertical(self) -> bool:
        return self.height > self.width


SAMPLE_RATE = 48_000  # the mix and the AAC stream (video's native rate); speech is resampled to it

# Every format keeps its true peak at or under this (EBU R128 / platform delivery specs); the mix's
# limiter aims lower (mix.MixSettings.ceiling_dbtp) because AAC decoding overshoots a little.
TRUE_PEAK_MAX_DBTP = -1.0

# Loudness: -14 LUFS is where YouTube, TikTok and Instagram normalise to (louder uploads are turned
# down, quieter ones are not turned up), so shorts and longform sit there; sleepy sits far lower so
# it stays soft at the same player volume.
SPECS: dict[Format, FormatSpec] = {
    Format.SHORT: FormatSpec(
        format=Format.SHORT,
        width=1080,
        height=1920,
        fps=30,
        max_seconds=float(MAX_LENGTH_SECONDS[Format.SHORT]),
        words_per_second=3.3,
        lead_in_seconds=0.6,
        tail_seconds=1.0,
        sentence_gap_seconds=0.25,
        section_gap_seconds=0.5,
        narration_span_max_seconds=float(MAX_LENGTH_SECONDS[Format.SHORT]),
        speech_fraction=1.0,
        loudness_lufs=-14.0,
        bed_styles=("pad",),
        bed_below_voice_lu=12.0,
        duck_db=9.0,
        safe_top=0.12,
        safe_bottom=0.20,
        safe_side=0.07,
        background_step_seconds=None,
        keyint_seconds=2.0,
        x264_preset="ultrafast",
        crf=21,
        audio_bitrate=192_000,
        speech_length_scale=1.0,
    ),
    Format.LONGFORM: FormatSpec(
        format=Format.LONGFORM,
        width=1920,
        height=1080,
        fps=30,
        max_seconds=float(MAX_LENGTH_SECONDS[Format.LONGFORM]),
        words_per_second=2.85,
        lead_in_seconds=3.0,
        tail_seconds=3.0,
        sentence_gap_seconds=0.4,
        section_gap_seconds=1.5,
        narration_span_max_seconds=float(MAX_LENGTH_SECONDS[Format.LONGFORM]),
        speech_fraction=1.0,
        loudness_lufs=-15.0,
        bed_styles=("pad",),
        bed_below_voice_lu=14.0,
        duck_db=8.0,
        safe_top=0.06,
        safe_bottom=0.06,
        safe_side=0.06,
        background_step_seconds=None,
        keyint_seconds=2.0,
        x264_preset="ultrafast",
        crf=21,
        audio_bitrate=192_000,
        speech_length_scale=1.3,
    ),
    Format.SLEEPY: FormatSpec(
        format=Format.SLEEPY,
        width=1920,
        height=1080,
        fps=2,
        max_seconds=float(MAX_LENGTH_SECONDS[Format.SLEEPY]),
        words_per_second=2.2,
        lead_in_seconds=6.0,
        tail_seconds=10.0,
        sentence_gap_seconds=3.0,
        section_gap_seconds=6.0,
        narration_span_max_seconds=3600.0,
        speech_fraction=0.35,
        loudness_lufs=-25.0,
        bed_styles=("rain", "brown", "pad", "pink"),
        bed_below_voice_lu=6.0,
        duck_db=4.0,
        safe_top=0.08,
        safe_bottom=0.08,
        safe_side=0.08,
        background_step_seconds=4.0,
        keyint_seconds=10.0,
        x264_preset="ultrafast",
        crf=23,
        audio_bitrate=160_000,  # noise beds need more bits than speech to stay free of swirl
        speech_length_scale=1.6,
    ),
}


def spec_for(fmt: str | Format, aspect: str | None = None) -> FormatSpec:
    """The spec of a format name (`short`, `longform`, `sleepy`), at another aspect ratio if asked."""
    try:
        spec = SPECS[Format(fmt)]
    except ValueError:
        raise MediaError(
            f"unknown format {fmt!r}; expected one of {', '.join(f.value for f in Format)}"
        ) from None
    if aspect is None:
        return spec
    if aspect not in ASPECT_SIZES:
        raise MediaError(f"unknown aspect ratio {aspect!r}; expected one of {', '.join(ASPECT_SIZES)}")
    width, height = ASPECT_SIZES[aspect]
    return replace(spec, width=width, height=height)
