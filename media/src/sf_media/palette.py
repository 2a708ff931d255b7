"""A job's colours, derived from its topic: the same topic always gets the same palette.

The hue comes from a hash of the topic; each format then decides how bright and saturated the colours
may be (shorts vivid, longform calmer, sleepy dark and cool so the screen never wakes anyone up).
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass

from sf_media.formats import Format

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Palette:
    """Background colours from deep to light, plus text and accent colours (8-bit sRGB)."""

    deep: RGB  # the darkest base of the backdrop
    mid: RGB  # the body of the gradient
    glow: RGB  # soft lights drifting over it
    highlight: RGB  # the second light colour, a neighbouring hue
    text: RGB
    accent: RGB


def _hsv(hue: float, saturation: float, value: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def topic_hue(topic: str) -> float:
    """A hue in [0, 1) from the topic's text (stable across runs and machines)."""
    digest = hashlib.sha256(topic.strip().lower().encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def palette_for(topic: str, fmt: Format) -> Palette:
    hue = topic_hue(topic)
    if fmt is Format.SLEEPY:
        # Sleepy keeps to the cool half of the wheel (teal to violet): warm darks read as muddy brown.
        cool = 0.48 + 0.28 * hue
        return Palette(
            deep=_hsv(cool, 0.55, 0.035),
            mid=_hsv(cool + 0.03, 0.50, 0.10),
            glow=_hsv(cool - 0.05, 0.45, 0.17),
            highlight=_hsv(cool + 0.10, 0.40, 0.14),
            text=_hsv(cool, 0.15, 0.62),
            accent=_hsv(cool - 0.05, 0.30, 0.55),
        )
    vivid = fmt is Format.SHORT
    return Palette(
        deep=_hsv(hue, 0.75, 0.14 if vivid else 0.10),
        mid=_hsv(hue + 0.04, 0.75, 0.30 if vivid else 0.24),
        glow=_hsv(hue - 0.08, 0.70 if vivid else 0.60, 0.72 if vivid else 0.52),
        highlight=_hsv(hue + 0.14, 0.60 if vivid else 0.50, 0.70 if vivid else 0.48),
        text=(250, 250, 246),
        accent=_hsv(hue + 0.5, 0.55, 1.0),
    )
