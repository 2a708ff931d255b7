"""The picture at any moment of the video: a moving backdrop with text cards and captions over it.

`FrameSource` draws on demand and holds only what the current frame needs, so a ten-hour video costs
the same memory as a short. Frames are described by a cheap `key`: the backdrop's animation step
(it moves `spec.animation_fps` times a second, slower than the frame rate) and the caption's key. The
renderer draws a picture only when the key changes and re-sends the previous one otherwise.

Shorts and longform move a Ken Burns camera over `backgrounds.Glow`, one framing per section, with a
crossfade between sections; longform opens each section with a chapter card. Sleepy shows its title
for a while, then nothing but `backgrounds.Aurora`, which repeats exactly every `spec.loop_seconds`
(`loop` tells the renderer where the repeating part starts). Section names are never drawn as
slide headings.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Hashable
from dataclasses import dataclass

from PIL import Image

from sf_media.backgrounds import Aurora, Camera, Glow
from sf_media.formats import Format, FormatSpec
from sf_media.palette import Palette, palette_for
from sf_media.script import Script
from sf_media.text_cards import CaptionDrawer, SentenceCaptions, card_drawing, chapter_block, title_block
from sf_media.yuv import Floats, Overlay, Planes, overlay_from_drawing

# Title and chapter cards fade in and out over this long.
_CARD_FADE = 0.5
_CHAPTER_SECONDS = 3.0
# Sleepy's title fades out over this long once its time is up.
_SLEEPY_TITLE_FADE = 8.0
# Pan per section, in frame heights over the whole section; directions alternate between sections.
_PAN = 0.05

FrameKey = tuple[int, Hashable | None]

# No flashing in sleepy videos: between two consecutive frames the mean luma (0-255) moves at most
# this much, and no more than 0.1 % of the pixels change by more than the second bound.
MAX_SLEEPY_LUMA_STEP = 1.0
MAX_SLEEPY_PIXEL_STEP = 12.0


@dataclass(frozen=True, slots=True)
class Loop:
    """From frame `start` on, frame i shows exactly what frame start + (i - start) % frames shows."""

    start: int
    frames: int


def _smooth(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _fade(t: float, start: float, end: float, fade: float) -> float:
    """Opacity of something shown over [start, end) that fades in and out over `fade` seconds."""
    if t < start or t >= end:
        return 0.0
    return min(_smooth((t - start) / fade), _smooth((end - t) / fade)) if fade > 0 else 1.0


class FrameSource:
    """Frames of one script in one format (and aspect ratio)."""

    def __init__(self, script: Script, spec: FormatSpec, captions: CaptionDrawer | None = None) -> None:
        self.script = script
        self.spec = spec
        self.sleepy = spec.format is Format.SLEEPY
        self.palette: Palette = palette_for(script.topic, spec.format)
        seed = int.from_bytes(hashlib.sha256(script.topic.encode()).digest()[4:8], "big")
        self._glow: Glow | None = None
        self._aurora: Aurora | None = None
        if self.sleepy:
            self._aurora = Aurora(
                spec.width, spec.height, self.palette, seed, loop_seconds=spec.loop_seconds or 120.0
            )
        else:
            self._glow = Glow(spec.width, spec.height, self.palette, seed, liveliness=spec.liveliness)
        # All caption drawing goes through this one object (CaptionOverlay plugs in here).
        self.captions: CaptionDrawer | None = None
        if spec.burn_captions:
            self.captions = captions or SentenceCaptions(script, spec, self.palette)
        sentences = script.sentences()
        first = sentences[0].start if sentences else script.duration
        self._title_end = spec.title_seconds if spec.title_seconds is not None else first
        self._title_fade = _SLEEPY_TITLE_FADE if self.sleepy else min(_CARD_FADE, first / 2)
        # A section's own stretch of video starts halfway through the pause before its first sentence.
        self._boundaries: list[float] = [0.0]
        previous_end = None
        for section in script.sections:
            if not section.sentences:
                continue
            start = section.sentences[0].start
            if previous_end is not None:
                self._boundaries.append((previous_end + start) / 2)
            previous_end = section.sentences[-1].end
        self._names = [s.heading for s in script.sections if s.sentences] or [script.title]
        # Where the repeating part of a sleepy video starts (None: nothing repeats).
        self.loop = self._find_loop()
        self._cards: dict[tuple[str, int], Overlay | None] = {}
        self._background: tuple[int, Planes] | None = None
        self._caption: tuple[Hashable | None, Overlay | None] = (None, None)

    # ---- timing -------------------------------------------------------------------------------

    @property
    def frame_count(self) -> int:
        return max(1, round(self.script.duration * self.spec.fps))

    def _find_loop(self) -> Loop | None:
        if self.spec.loop_seconds is None:
            return None
        fps = self.spec.fps
        start = math.ceil(self._title_end * fps)
        frames = round(self.spec.loop_seconds * fps)
        if start + frames >= self.frame_count:
            return None
        return Loop(start, frames)

    def _step(self, index: int) -> int:
        """The backdrop's animation step at frame `index` (folded into the loop for sleepy)."""
        loop = self.loop
        if loop is not None and index >= loop.start:
            index = loop.start + (index - loop.start) % loop.frames
        return math.floor(index * self.spec.animation_fps / self.spec.fps)

    def _step_time(self, step: int) -> float:
        return step / self.spec.animation_fps

    def key(self, index: int) -> FrameKey:
        """Equal keys draw identical frames; computing one draws nothing."""
        t = index / self.spec.fps
        caption = self.captions.key_at(t) if self.captions is not None else None
        return self._step(index), caption

    def section_at(self, t: float) -> int:
        return max(0, bisect.bisect_right(self._boundaries, t) - 1)

    # ---- drawing ------------------------------------------------------------------------------

    def _camera(self, section: int, t: float) -> Camera:
        start = self._boundaries[section]
        end = self._boundaries[section + 1] if section + 1 < len(self._boundaries) else self.script.duration
        progress = _smooth((t - start) / max(end - start, 1e-6)) if end > start else 0.0
        direction = 1 if section % 2 == 0 else -1
        return Camera(
            zoom=1.0 + self.spec.ken_burns_zoom * progress,
            pan_x=direction * _PAN * (progress - 0.5),
            pan_y=-0.5 * _PAN * (progress - 0.5),
        )

    def background_small(self, t: float) -> Floats:
        """The backdrop at t as a small float RGB field (before upscaling)."""
        if self._aurora is not None:
            return self._aurora.small_rgb(t)
        assert self._glow is not None
        section = self.section_at(t)
        here = self._glow.small_rgb(t, section, self._camera(section, t))
        half = self.spec.transition_seconds / 2
        if section > 0 and t - self._boundaries[section] < half:  # second half of the crossfade
            weight = 0.5 + 0.5 * _smooth((t - self._boundaries[section]) / half)
            before = self._glow.small_rgb(t, section - 1, self._camera(section - 1, t))
            return (before * (1 - weight) + here * weight).astype(here.dtype)
        following = section + 1
        if following < len(self._boundaries) and self._boundaries[following] - t < half:
            weight = 0.5 * _smooth(1 - (self._boundaries[following] - t) / half)
            after = self._glow.small_rgb(t, following, self._camera(following, t))
            return (here * (1 - weight) + after * weight).astype(here.dtype)
        return here

    def background(self, step: int) -> Planes:
        """The backdrop alone at an animation step, full size (the last one is cached)."""
        if self._background is None or self._background[0] != step:
            small = self.background_small(self._step_time(step))
            self._background = (step, Planes.from_small_rgb(small, self.spec.width, self.spec.height))
        return self._background[1]

    def _card(self, kind: str, number: int, text: str) -> Overlay | None:
        if (kind, number) not in self._cards:
            if len(self._cards) >= 2:  # a card is a few MB: keep the title and the current chapter only
                self._cards.pop(next(k for k in self._cards if k[0] != "title"), None)
            block = title_block(self.spec, text) if kind == "title" else chapter_block(self.spec, text)
            drawing = card_drawing(block, self.palette, accent_bar=kind == "chapter")
            self._cards[(kind, number)] = overlay_from_drawing(self.spec.width, self.spec.height, drawing)
        return self._cards[(kind, number)]

    def cards_at(self, t: float) -> list[tuple[Overlay | None, float]]:
        """The title or chapter cards visible at t, with their opacity."""
        shown: list[tuple[Overlay | None, float]] = []
        title = _fade(t, -1.0, self._title_end, self._title_fade)
        if title > 0:
            shown.append((self._card("title", 0, self.script.title), title))
        if self.spec.chapter_cards:
            section = self.section_at(t)
            if section > 0:
                start = self._boundaries[section]
                opacity = _fade(t, start, start + _CHAPTER_SECONDS, _CARD_FADE)
                if opacity > 0:
                    shown.append((self._card("chapter", section, self._names[section]), opacity))
        return shown

    def _caption_overlay(self, t: float, key: Hashable | None) -> Overlay | None:
        if key is None or self.captions is None:
            return None
        if self._caption[0] != key or self._caption[1] is None:
            captions = self.captions

            def draw(frame: Image.Image) -> None:
                captions.draw(frame, t)

            self._caption = (key, overlay_from_drawing(self.spec.width, self.spec.height, draw))
        return self._caption[1]

    def picture(self, index: int) -> Planes:
        """The finished frame `index` as yuv420p planes (a fresh copy the caller may keep)."""
        step, caption = self.key(index)
        planes = self.background(step).copy()
        for overlay, opacity in self.cards_at(self._step_time(step)):
            if overlay is not None:
                overlay.blend(planes, opacity)
        overlay = self._caption_overlay(index / self.spec.fps, caption)
        if overlay is not None:
            overlay.blend(planes)
        return planes

    def frame_at(self, t: float) -> Image.Image:
        """Frame at time t as an RGB image (tests, previews)."""
        return self.picture(round(t * self.spec.fps)).to_rgb()
