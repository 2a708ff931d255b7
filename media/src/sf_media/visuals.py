"""The picture at any moment of the video, drawn on demand with Pillow.

`FrameSource` never holds more than the frame it is drawing: the renderer asks for the `Scene` at
each frame time and only draws when the scene changes, so a ten-hour video costs the same memory as
a short and most frames are reused rather than redrawn. Scenes: a title card, one slide per section
with the burned-in caption (`CaptionOverlay`: its key is part of the scene, so a new highlighted word
redraws the frame), and for sleepy an end card once the narration is over.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image, ImageDraw

from sf_media.caption_overlay import CaptionOverlay
from sf_media.formats import Format, FormatSpec
from sf_media.layout import TextBlock, fit_text, safe_area, text_font
from sf_media.script import Script

RGB = tuple[int, int, int]

# A while after the last sentence the sleepy end card takes over for the rest of the (ambient-only) video.
_SLEEPY_END_CARD_AFTER = 10.0
# A sleepy background completes one slow colour cycle in this many seconds.
_SLEEPY_DRIFT_PERIOD = 900.0


class Kind(StrEnum):
    TITLE = "title"
    SLIDE = "slide"
    END = "end"


@dataclass(frozen=True, slots=True)
class Scene:
    """Everything that decides a frame's pixels; equal scenes draw identical frames."""

    kind: Kind
    heading: str | None = None
    caption: Hashable | None = None  # the caption overlay's key: which cue, which word lit
    background_step: int = 0


@dataclass(frozen=True, slots=True)
class Palette:
    top: RGB
    bottom: RGB
    text: RGB
    accent: RGB


_BRIGHT = (
    Palette(top=(16, 42, 67), bottom=(9, 94, 110), text=(250, 250, 245), accent=(255, 209, 102)),
    Palette(top=(45, 20, 66), bottom=(120, 40, 90), text=(252, 248, 250), accent=(130, 230, 220)),
    Palette(top=(20, 50, 35), bottom=(40, 110, 80), text=(248, 252, 246), accent=(255, 196, 120)),
)
_DIM = (
    Palette(top=(8, 10, 28), bottom=(24, 16, 44), text=(150, 150, 185), accent=(110, 118, 160)),
    Palette(top=(6, 16, 26), bottom=(14, 30, 40), text=(140, 165, 170), accent=(100, 130, 140)),
)


@dataclass(frozen=True, slots=True)
class Layout:
    """The text blocks of a scene (for drawing, and for tests of the safe area)."""

    heading: TextBlock | None
    body: TextBlock | None = None  # captions are drawn by the CaptionOverlay, not laid out here


class FrameSource:
    """Scenes and frames of one script in one format."""

    def __init__(self, script: Script, spec: FormatSpec, captions: CaptionOverlay | None = None) -> None:
        self.script = script
        self.spec = spec
        self.captions = captions or CaptionOverlay(script, spec)
        self.safe = safe_area(spec)
        self.sleepy = spec.format is Format.SLEEPY  # dim palette, drifting backdrop, fading captions
        index = hashlib.sha256(script.topic.encode()).digest()[0]
        palettes = _DIM if self.sleepy else _BRIGHT
        self.palette = palettes[index % len(palettes)]
        self._static_background: Image.Image | None = None
        # Every sentence with its section number, in order, and their start times for bisecting.
        self._timeline = [
            (sentence, number)
            for number, section in enumerate(script.sections)
            for sentence in section.sentences
        ]
        self._starts = [sentence.start for sentence, _ in self._timeline]

    @property
    def frame_count(self) -> int:
        return max(1, round(self.script.duration * self.spec.fps))

    def scene_at(self, t: float) -> Scene:
        step = int(t // self.spec.background_step_seconds) if self.spec.background_step_seconds else 0
        index = bisect.bisect_right(self._starts, t) - 1
        if index < 0:
            return Scene(Kind.TITLE, heading=self.script.title, background_step=step)
        sentence, section = self._timeline[index]
        if self.sleepy and index == len(self._timeline) - 1 and t >= sentence.end + _SLEEPY_END_CARD_AFTER:
            return Scene(Kind.END, heading=self.script.title, background_step=step)
        return Scene(Kind.SLIDE, self.script.sections[section].heading, self.captions.key_at(t), step)

    def scenes(self) -> Iterator[tuple[int, Scene]]:
        """(frame index, scene) for every frame, in order; cheap, draws nothing."""
        for index in range(self.frame_count):
            yield index, self.scene_at(index / self.spec.fps)

    def layout(self, scene: Scene) -> Layout:
        height = self.spec.height
        if scene.kind is not Kind.SLIDE:
            size = round(height * (0.055 if self.spec.vertical else 0.085))
            if self.sleepy:
                size = round(size * 0.7)
            region = self.safe.band(0.3, 0.7)
            return Layout(fit_text(scene.heading or "", region, size), None)
        heading_size = round(
            height * (0.032 if self.spec.vertical else 0.05) * (0.75 if self.sleepy else 1.0)
        )
        heading = fit_text(scene.heading, self.safe.band(0.0, 0.16), heading_size) if scene.heading else None
        return Layout(heading)

    def background(self, step: int) -> Image.Image:
        """The backdrop alone: a static gradient, or for sleepy a slowly drifting glow."""
        if not self.sleepy:
            if self._static_background is None:
                self._static_background = _gradient(self.spec.width, self.spec.height, self.palette, 0.0, 0.5)
            return self._static_background
        seconds = step * (self.spec.background_step_seconds or 0.0)
        phase = 2 * math.pi * seconds / _SLEEPY_DRIFT_PERIOD
        return _gradient(
            self.spec.width,
            self.spec.height,
            self.palette,
            0.5 + 0.5 * math.sin(phase),
            0.5 + 0.3 * math.cos(phase * 0.7),
        )

    def render(self, scene: Scene) -> Image.Image:
        image = self.background(scene.background_step).copy()
        draw = ImageDraw.Draw(image)
        layout = self.layout(scene)
        title_colour = self.palette.text if scene.kind is Kind.TITLE else self.palette.accent
        if scene.kind is not Kind.SLIDE:
            _draw(draw, layout.heading, title_colour)
            return image
        _draw(draw, layout.heading, self.palette.accent)
        self.captions.draw_key(image, scene.caption)
        return image

    def frame_at(self, t: float) -> Image.Image:
        return self.render(self.scene_at(t))


def _draw(draw: ImageDraw.ImageDraw, block: TextBlock | None, colour: RGB) -> None:
    if block is None:
        return
    face = text_font(block.font_size, block.weight)
    for line, origin in zip(block.lines, block.origins, strict=True):
        face.draw(draw, origin, line, colour, anchor="la")


def _gradient(width: int, height: int, palette: Palette, glow_x: float, glow_y: float) -> Image.Image:
    """A vertical gradient with a soft glow, computed small and upscaled (smooth and cheap)."""
    w, h = max(2, width // 16), max(2, height // 16)
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    top, bottom = np.array(palette.top, float), np.array(palette.bottom, float)
    base = top * (1 - y) + bottom * y
    xs, ys = np.meshgrid(np.linspace(0.0, 1.0, w), np.linspace(0.0, 1.0, h))
    glow = np.exp(-(((xs - glow_x) * width / height) ** 2 + (ys - glow_y) ** 2) / 0.08)[:, :, None]
    pixels = np.clip(base + glow * (bottom - top) * 0.6 + glow * 6.0, 0, 255).astype(np.uint8)
    small = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    return small.resize((width, height), Image.Resampling.BICUBIC)
