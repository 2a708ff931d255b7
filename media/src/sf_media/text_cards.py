"""Text drawn over the moving picture: the title card, longform chapter cards, and today's captions.

Each is a drawing callback on an RGB frame; `yuv.overlay_from_drawing` turns it into an overlay once,
and the frame pipeline only blends it afterwards. Text carries a dark outline so it stays readable
whatever the backdrop behind it is doing.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable
from typing import Protocol

from PIL import Image, ImageDraw

from sf_media.formats import Format, FormatSpec
from sf_media.layout import Box, TextBlock, fit_text, font, safe_area
from sf_media.palette import RGB, Palette
from sf_media.script import Script

# A caption stays up this long after its sentence ends when the next one is late.
_CAPTION_HOLD = 1.0


class CaptionDrawer(Protocol):
    """What the frame pipeline needs from burned-in captions (`caption_overlay.CaptionOverlay` fits)."""

    def key_at(self, t: float) -> Hashable | None:
        """None = no caption at t; changes exactly when the drawn caption changes."""
        ...

    def draw(self, frame: Image.Image, t: float) -> None:
        """Draw the caption at t onto an RGB frame, in place."""
        ...


def stroke_width(font_size: int) -> int:
    return max(2, font_size // 12)


def draw_block(frame: Image.Image, block: TextBlock, fill: RGB, outline: RGB) -> None:
    draw = ImageDraw.Draw(frame)
    face = font(block.font_size)
    stroke = stroke_width(block.font_size)
    for line, origin in zip(block.lines, block.origins, strict=True):
        draw.text(origin, line, font=face, fill=fill, anchor="la", stroke_width=stroke, stroke_fill=outline)


def _region(spec: FormatSpec, top: float, bottom: float, font_size: int) -> Box:
    """A band of the safe area, inset so the text's outline stays inside it too."""
    band = safe_area(spec).band(top, bottom)
    inset = stroke_width(font_size)
    return Box(band.left + inset, band.top + inset, band.right - inset, band.bottom - inset)


class SentenceCaptions:
    """Today's caption: the sentence being spoken, centred in the lower part of the safe area."""

    def __init__(self, script: Script, spec: FormatSpec, palette: Palette) -> None:
        self.spec = spec
        self.palette = palette
        self._sentences = script.sentences()
        self._starts = [s.start for s in self._sentences]
        self._size = round(spec.height * (0.036 if spec.vertical else 0.05))
        self._region = _region(spec, 0.5 if spec.vertical else 0.62, 1.0, self._size)

    def key_at(self, t: float) -> Hashable | None:
        index = bisect.bisect_right(self._starts, t) - 1
        if index < 0 or t > self._sentences[index].end + _CAPTION_HOLD:
            return None
        return index

    def layout(self, t: float) -> TextBlock | None:
        index = self.key_at(t)
        if not isinstance(index, int):
            return None
        return fit_text(self._sentences[index].text, self._region, self._size)

    def draw(self, frame: Image.Image, t: float) -> None:
        block = self.layout(t)
        if block is not None:
            draw_block(frame, block, self.palette.text, self.palette.deep)


def title_block(spec: FormatSpec, title: str) -> TextBlock:
    size = round(spec.height * (0.055 if spec.vertical else 0.085))
    if spec.format is Format.SLEEPY:
        size = round(size * 0.7)
    return fit_text(title, _region(spec, 0.3, 0.7, size), size)


def chapter_block(spec: FormatSpec, title: str) -> TextBlock:
    """Longform chapter cards sit above the captions' band."""
    size = round(spec.height * 0.07)
    return fit_text(title, _region(spec, 0.08, 0.5, size), size)


def card_drawing(block: TextBlock, palette: Palette, *, accent_bar: bool) -> Callable[[Image.Image], None]:
    """A title or chapter card; chapter cards get a short accent bar above the name."""

    def draw(frame: Image.Image) -> None:
        if accent_bar:
            box = block.box
            width = max(80, box.width * 2 // 3)
            middle = (box.left + box.right) // 2
            thickness = max(3, block.font_size // 14)
            top = box.top - 3 * thickness
            ImageDraw.Draw(frame).rectangle(
                (middle - width // 2, top, middle + width // 2, top + thickness), fill=palette.accent
            )
        draw_block(frame, block, palette.text, palette.deep)

    return draw
