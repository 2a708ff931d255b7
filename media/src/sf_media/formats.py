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


# x264 preset of the moving formats (see FormatSpec.x264_preset).
_UPLOAD_PRESET = "ultrafast+cabac=1:8x8dct=1:bframes=2"


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
    # Motion: the backdrop is redrawn this many times a second (frames in between repeat it; slow,
    # soft motion needs no more), how lively it moves (1.0 = shorts), how far the camera zooms in
    # over a section (Ken Burns), and how long a crossfade between sections lasts.
    animation_fps: float
    liveliness: float
    ken_burns_zoom: float
    transition_seconds: float
    chapter_cards: bool  # longform: each section opens with its name as a card
    burn_captions: bool  # sleepy: none, the screen holds no text once the title has faded
    title_seconds: float | None  # title card length; None = until the first sentence
    # Sleepy: one seamless loop of this length is encoded once and repeated (None = no loop).
    loop_seconds: float | None
    keyint_seconds: float
    # Chosen with `python -m sf_media.bench --presets ...` on the formats' moving pictures (README,
    # "Encoding"): ultrafast's speed with CABAC, the 8x8 transform and two B-frames added back makes
    # a High-profile file as small as superfast's at better PSNR and three quarters of its CPU.
    # "name+params" overrides a few of the preset's x264 settings. Drafts skip the extras.
    x264_preset: str
    draft_preset: str
    # Sleepy: from this length on, the loop is repeated so often that the slower preset's smaller file
    # (about 40 % smaller) costs little per hour of video; shorter videos keep the budget with the fast one.
    long_video_preset: str | None
    long_video_from_seconds: float
    # x264 adaptive quantisation: 3 spends more bits on dark flat areas, where the dithered gradients
    # would otherwise flatten into bands again (longform and sleepy are mostly dark); shorts are bright,
    # and 0 there cuts x264's CPU by a fifth and the file by half.
    aq_mode: int
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
        animation_fps=15.0,
        liveliness=1.0,
        ken_burns_zoom=0.10,
        transition_seconds=0.8,
        chapter_cards=False,
        burn_captions=True,
        title_seconds=None,
        loop_seconds=None,
        keyint_seconds=2.0,
        x264_preset=_UPLOAD_PRESET,
        draft_preset="ultrafast",
        long_video_preset=None,
        long_video_from_seconds=0.0,
        aq_mode=0,
        crf=21,
        audio_bitrate=192_000,
        speech_length_scale=1.0,
    ),
    Format.LONGFORM: FormatSpec(
        format=Format.LONGFORM,
        width=1920,
        height=1080,
        # 24 fps, film's rate: calm footage needs no more, and x264's cost per second of video
        # drops by a fifth, which keeps longform inside its 0.2x real-time render budget.
        fps=24,
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
        # 8 backdrop pictures a second: the drift is slow enough that nobody sees the steps, and it
        # keeps a 3-minute render under 0.2x real time (10 a second measured 0.20-0.21x, 8 gave 0.19x).
        animation_fps=8.0,
        liveliness=0.6,
        ken_burns_zoom=0.06,
        transition_seconds=1.2,
        chapter_cards=True,
        burn_captions=True,
        title_seconds=None,
        loop_seconds=None,
        keyint_seconds=2.0,
        x264_preset=_UPLOAD_PRESET,
        draft_preset="ultrafast",
        long_video_preset=None,
        long_video_from_seconds=0.0,
        aq_mode=3,
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
        animation_fps=2.0,
        liveliness=0.0,
        ken_burns_zoom=0.0,
        transition_seconds=0.0,
        chapter_cards=False,
        burn_captions=False,
        title_seconds=20.0,
        loop_seconds=90.0,
        keyint_seconds=10.0,
        x264_preset="veryfast",
        draft_preset="ultrafast",
        # One encoder thread, a short lookahead and two references: the loop is encoded once, so
        # speed matters little, and each extra 1080p frame x264 holds costs ~3 MB (a 1-hour video
        # peaked at 322 MB with medium's defaults, 274 MB with these; the file is 2 % bigger).
        long_video_preset="medium+threads=1:rc-lookahead=5:ref=2",
        long_video_from_seconds=1800.0,
        aq_mode=3,
        # Lower than the other formats: at higher CRF x264 flattens the dither in dark areas again.
        crf=20,
        audio_bitrate=160_000,  # noise beds need more bits than speech to stay free of swirl
        speech_length_scale=1.6,
    ),
}


def draft_of(spec: FormatSpec) -> FormatSpec:
    """A preview of the same video: the backdrop moves in coarser steps (at most 5 a second), so there
    is less to draw and x264 skips more; the render also uses `draft_preset`."""
    return replace(spec, animation_fps=min(spec.animation_fps, 5.0))


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
