"""Every format at every aspect ratio: full-size frames, a moving backdrop, text in the safe area."""

import numpy as np
import pytest
from sf_media import FrameSource, TemplateScriptWriter, safe_area, spec_for
from sf_media.layout import Box
from sf_media.options import ASPECT_SIZES


@pytest.mark.parametrize("aspect", list(ASPECT_SIZES))
@pytest.mark.parametrize("fmt", ["short", "longform", "sleepy"])
def test_a_frame_fills_each_aspect_ratio_with_its_text_inside_the_safe_area(fmt: str, aspect: str) -> None:
    spec = spec_for(fmt, aspect)
    script = TemplateScriptWriter().write("tide pools", fmt, 40)
    frames = FrameSource(script, spec)
    t = 10.0 if fmt == "sleepy" else script.sentences()[0].start + 0.2  # title / first caption
    index = round(t * spec.fps)

    picture = frames.picture(index)
    backdrop = frames.background(frames.key(index)[0])

    assert picture.y.shape == (spec.height, spec.width)
    assert picture.u.shape == (spec.height // 2, spec.width // 2)
    assert float(backdrop.y.std()) > 0.5  # a gradient with lights, not a flat fill
    ys, xs = np.nonzero(np.abs(picture.y.astype(np.int16) - backdrop.y.astype(np.int16)) > 24)
    assert len(xs), "no text on the frame"
    ink = Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    assert safe_area(spec).contains(ink), (ink, safe_area(spec))
