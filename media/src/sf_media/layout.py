"""Where text goes on a frame: safe areas, word wrapping and font fitting (geometry, no drawing).

Kept apart from drawing so tests can check the promise (text stays inside the safe area, which for
Shorts keeps it clear of the title bar at the top and the buttons and description at the bottom)
without parsing pixels, and the renderer draws exactly these boxes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import ImageFont

from sf_media.fonts import DEFAULT_FAMILY, FontChain, chain
from sf_media.formats import FormatSpec


@dataclass(frozen=True, slots=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def contains(self, other: Box) -> bool:
        return (
            self.left <= other.left
            and self.top <= other.top
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def band(self, top: float, bottom: float) -> Box:
        """A horizontal slice of this box, between two fractions of its height."""
        return Box(
            self.left, self.top + round(top * self.height), self.right, self.top + round(bottom * self.height)
        )


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Wrapped lines at one font size: where to draw each line (left-ascender origin) and its ink box."""

    lines: tuple[str, ...]
    font_size: int
    origins: tuple[tuple[int, int], ...]
    line_boxes: tuple[Box, ...]
    weight: int = 400

    @property
    def box(self) -> Box:
        return Box(
            min(b.left for b in self.line_boxes),
            min(b.top for b in self.line_boxes),
            max(b.right for b in self.line_boxes),
            max(b.bottom for b in self.line_boxes),
        )


def font(size: int, weight: int = 400) -> ImageFont.FreeTypeFont:
    """Noto Sans at `size` (Latin, Greek, Cyrillic); text that may hold other scripts is drawn with
    `text_font(...).draw`, which falls back per glyph run (CJK and beyond)."""
    return chain(size, weight).primary


def text_font(size: int, weight: int = 400, family: str = DEFAULT_FAMILY) -> FontChain:
    """The fallback chain that measures and draws text in any script the bundled fonts cover."""
    return chain(size, weight, family)


def safe_area(spec: FormatSpec) -> Box:
    return Box(
        round(spec.width * spec.safe_side),
        round(spec.height * spec.safe_top),
        round(spec.width * (1 - spec.safe_side)),
        round(spec.height * (1 - spec.safe_bottom)),
    )


def wrap(text: str, size: int, max_width: int, weight: int = 400) -> list[str]:
    """Greedy word wrap; a word wider than the line (or unspaced CJK text) is cut between characters."""
    face = text_font(size, weight)
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and face.getlength(candidate) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
        while len(current) > 1 and face.getlength(current) > max_width:
            cut = _longest_prefix(face, current, max_width)
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines


def _longest_prefix(face: FontChain, text: str, max_width: int) -> int:
    """How many leading characters of `text` fit `max_width` (at least one)."""
    fit = 1
    while fit < len(text) and face.getlength(text[: fit + 1]) <= max_width:
        fit += 1
    return fit


def _ink(face: FontChain, line: str) -> tuple[int, int, int, int]:
    """The line's ink bounds from a left-ascender origin, rounded outwards to whole pixels."""
    left, top, right, bottom = face.getbbox(line, anchor="la")
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


def fit_text(
    text: str,
    region: Box,
    max_size: int,
    *,
    min_size: int = 18,
    line_spacing: float = 1.25,
    weight: int = 400,
) -> TextBlock:
    """The largest font size (down to `min_size`) at which `text` fits `region`, centred in it."""
    size = max_size
    while True:
        lines = wrap(text, size, region.width, weight)
        face = text_font(size, weight)
        inks = [_ink(face, line) for line in lines]
        line_height = round(size * line_spacing)
        ascent, descent = face.getmetrics()
        height = line_height * (len(lines) - 1) + ascent + descent
        widest = max((right - left for left, _, right, _ in inks), default=0)
        if (widest <= region.width and height <= region.height) or size <= min_size:
            break
        size = max(min_size, int(size * 0.9))
    top = region.top + max(0, (region.height - height) // 2)
    origins = []
    boxes = []
    for index, (left, ink_top, right, ink_bottom) in enumerate(inks):
        x = region.left + (region.width - (right - left)) // 2 - left
        y = top + index * line_height
        origins.append((x, y))
        boxes.append(Box(x + left, y + ink_top, x + right, y + ink_bottom))
    return TextBlock(tuple(lines), size, tuple(origins), tuple(boxes), weight)
