"""The thumbnail reads at the size YouTube lists it: 320x180, title contrast checked on pixels."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sf_media import TemplateScriptWriter, spec_for
from sf_media.thumbnail import luminance, render_thumbnail, thumbnail_size, title_layout


def _contrast(lighter: float, darker: float) -> float:
    return (lighter + 0.05) / (darker + 0.05)  # WCAG contrast ratio


@pytest.mark.parametrize(
    ("fmt", "aspect", "size"),
    [("longform", None, (1280, 720)), ("short", None, (720, 1280)), ("sleepy", "1:1", (720, 720))],
)
def test_the_thumbnail_title_is_big_and_high_contrast_at_320_wide(
    fmt: str, aspect: str | None, size: tuple[int, int], tmp_path: Path
) -> None:
    spec = spec_for(fmt, aspect)
    script = TemplateScriptWriter().write("tide pools at dawn", fmt, 40)

    image = render_thumbnail(script, spec)

    assert image.size == size == thumbnail_size(spec)
    block = title_layout(script.title, *size)
    scale = 320 / size[0]
    small = image.resize((320, round(size[1] * scale)), Image.Resampling.LANCZOS)
    # The title's letters at list size: at least ~14 px tall, as tall as a heading on a phone.
    assert block.font_size * scale >= 14
    # Ink (the letters' cores) against the backdrop around the title, both at list size.
    lum = luminance(small)
    box = block.box
    left, top, right, bottom = (round(v * scale) for v in (box.left, box.top, box.right, box.bottom))
    inside = lum[top:bottom, left:right]
    letters = float(np.percentile(inside, 95))
    outside = np.concatenate([lum[: max(1, top - 2)].ravel(), lum[bottom + 2 :].ravel()])
    backdrop = float(np.median(outside)) if outside.size else float(np.median(lum))
    assert _contrast(letters, backdrop) >= 4.5, (letters, backdrop)
