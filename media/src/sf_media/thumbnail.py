"""The upload's thumbnail: the title, big and high-contrast, on the job's palette.

Thumbnails are mostly seen at 320x180 or smaller in a list of videos, so the title fills most of the
picture, the backdrop behind it is darkened, and the letters get a thick dark outline plus a drop
shadow. 16:9 gives YouTube's 1280x720; other aspect ratios keep their shape at the same short side.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from sf_media.backgrounds import Aurora, Camera, Glow
from sf_media.formats import Format, FormatSpec
from sf_media.layout import Box, TextBlock, fit_text, font
from sf_media.palette import palette_for
from sf_media.script import Script
from sf_media.yuv import Planes

SHORT_SIDE = 720
_DARKEN = 0.7  # the backdrop behind the title keeps most of its colour, a little dimmed


def thumbnail_size(spec: FormatSpec) -> tuple[int, int]:
    scale = SHORT_SIDE / min(spec.width, spec.height)
    return round(spec.width * scale) // 2 * 2, round(spec.height * scale) // 2 * 2


def title_layout(title: str, width: int, height: int) -> TextBlock:
    margin_x, margin_y = round(width * 0.07), round(height * 0.1)
    region = Box(margin_x, margin_y, width - margin_x, height - margin_y)
    return fit_text(title, region, round(min(width, height) * 0.2), min_size=24, line_spacing=1.1)


def render_thumbnail(script: Script, spec: FormatSpec) -> Image.Image:
    width, height = thumbnail_size(spec)
    palette = palette_for(script.topic, spec.format)
    seed = int.from_bytes(hashlib.sha256(script.topic.encode()).digest()[4:8], "big")
    if spec.format is Format.SLEEPY:
        small = Aurora(width, height, palette, seed, loop_seconds=spec.loop_seconds or 120.0).small_rgb(0.0)
    else:
        small = Glow(width, height, palette, seed, liveliness=spec.liveliness).small_rgb(0.0, 0, Camera())
    image = Planes.from_small_rgb(small * _DARKEN, width, height).to_rgb()

    block = title_layout(script.title, width, height)
    face = font(block.font_size)
    outline = max(3, block.font_size // 9)
    shadow = Image.new("L", (width, height), 0)
    shadow_draw = ImageDraw.Draw(shadow)
    offset = max(2, block.font_size // 16)
    for line, (x, y) in zip(block.lines, block.origins, strict=True):
        shadow_draw.text(
            (x + offset, y + offset), line, font=face, fill=255, anchor="la", stroke_width=outline
        )
    shadow = shadow.filter(ImageFilter.GaussianBlur(offset))
    black = Image.new("RGB", (width, height), (0, 0, 0))
    image = Image.composite(black, image, shadow.point(lambda v: int(v * 0.8)))
    draw = ImageDraw.Draw(image)
    # Bright text: white for the calm formats' dim palettes, the palette's text colour otherwise.
    fill = (255, 255, 255) if spec.format is Format.SLEEPY else palette.text
    for line, origin in zip(block.lines, block.origins, strict=True):
        draw.text(
            origin, line, font=face, fill=fill, anchor="la", stroke_width=outline, stroke_fill=(8, 8, 12)
        )
    return image


def write_thumbnail(script: Script, spec: FormatSpec, path: Path) -> Path:
    render_thumbnail(script, spec).save(path)
    return path


def luminance(image: Image.Image) -> np.ndarray:
    """Relative luminance (WCAG) of an sRGB image, per pixel."""
    srgb = np.asarray(image.convert("RGB"), dtype=np.float64) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    result: np.ndarray = linear @ np.array([0.2126, 0.7152, 0.0722])
    return result
