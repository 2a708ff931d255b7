from collections.abc import Hashable

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sf_media import FrameSource, TemplateScriptWriter, safe_area, spec_for
from sf_media.layout import Box
from sf_media.text_cards import SentenceCaptions

# The longest caption a template can produce, to exercise wrapping and shrinking.
_LONG = (
    "People who study it will tell you that it is easiest to appreciate a very long and complicated "
    "topic name up close and in person, whatever the weather and the time of day may be."
)


def _ink_box(frames: FrameSource, index: int) -> Box:
    """Bounding box of every pixel the text changed (frame versus its bare background)."""
    step, _ = frames.key(index)
    frame = frames.picture(index).y.astype(np.int16)
    background = frames.background(step).y.astype(np.int16)
    ys, xs = np.nonzero(np.abs(frame - background) > 24)
    assert len(xs), "no text was drawn"
    return Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


class _NoCaptions:
    """A caption drawer that never shows anything (what remains is everything else on screen)."""

    def key_at(self, t: float) -> Hashable | None:
        return None

    def draw(self, frame: Image.Image, t: float) -> None:
        raise AssertionError("never asked to draw")


class _BoxCaptions:
    """A caption drawer with one caption per whole second: a white box; counts its drawings."""

    def __init__(self) -> None:
        self.drawn: list[float] = []

    def key_at(self, t: float) -> Hashable | None:
        return int(t)

    def draw(self, frame: Image.Image, t: float) -> None:
        self.drawn.append(t)
        ImageDraw.Draw(frame).rectangle((400, 1200, 700, 1300), fill=(255, 255, 255))


@pytest.mark.parametrize("fmt", ["short", "longform"])
def test_captions_stay_inside_the_safe_area(fmt: str) -> None:
    spec = spec_for(fmt)
    script = TemplateScriptWriter().write("tide pools", fmt, 45)
    captions = SentenceCaptions(script, spec, FrameSource(script, spec).palette)
    frames = FrameSource(script, spec)
    first = script.sentences()[0]

    block = captions.layout(first.start + 0.1)
    index = round((first.start + 0.1) * spec.fps)

    assert block is not None and safe_area(spec).contains(block.box)
    assert safe_area(spec).contains(_ink_box(frames, index))
    assert frames.picture(index).y.shape == (spec.height, spec.width)


def test_a_long_caption_shrinks_to_fit_clear_of_the_shorts_title_bar_and_buttons() -> None:
    spec = spec_for("short")
    script = TemplateScriptWriter().write("tide pools", "short", 45)
    captions = SentenceCaptions(script, spec, FrameSource(script, spec).palette)
    from sf_media.layout import fit_text

    block = fit_text(_LONG, captions._region, captions._size)

    assert block.box.top >= 0.12 * spec.height
    assert block.box.bottom <= 0.80 * spec.height


@pytest.mark.parametrize("fmt", ["short", "longform", "sleepy"])
def test_section_names_are_never_drawn_as_slide_headings(fmt: str) -> None:
    """Without captions, a short's or sleepy's frames after the title are the bare backdrop; a
    longform shows text only while a chapter card is up."""
    spec = spec_for(fmt)
    script = TemplateScriptWriter().write("tide pools", fmt, 50)
    frames = FrameSource(script, spec, captions=_NoCaptions())
    sentences = script.sentences()
    moments = [sentences[len(sentences) // 2].start + 0.5, sentences[-1].start + 0.2]

    for t in moments:
        index = round(t * spec.fps)
        if frames.cards_at(t):
            assert fmt == "longform"
            continue
        step, _ = frames.key(index)
        assert np.array_equal(frames.picture(index).data, frames.background(step).data), (fmt, t)


def test_longform_opens_each_later_section_with_its_name_as_a_chapter_card() -> None:
    spec = spec_for("longform")
    script = TemplateScriptWriter().write("tide pools", "longform", 300)
    frames = FrameSource(script, spec, captions=_NoCaptions())
    second = script.sections[1]

    t = second.sentences[0].start + 0.5
    cards = frames.cards_at(t)

    assert len(cards) == 1 and cards[0][1] > 0.5
    ink = _ink_box(frames, round(t * spec.fps))
    assert ink.bottom < spec.height * 0.6  # above the captions' band
    assert not frames.cards_at(second.sentences[-1].start)  # gone again while the section plays


def test_shorts_never_show_chapter_cards() -> None:
    spec = spec_for("short")
    script = TemplateScriptWriter().write("tide pools", "short", 45)
    frames = FrameSource(script, spec)

    assert all(not frames.cards_at(s.start + 0.5) for s in script.sentences())


def test_every_caption_is_drawn_through_the_one_caption_call_once_per_key() -> None:
    spec = spec_for("short")
    script = TemplateScriptWriter().write("tide pools", "short", 10)
    captions = _BoxCaptions()
    frames = FrameSource(script, spec, captions=captions)

    for index in range(0, 3 * spec.fps):
        frames.picture(index)

    # Captured once per key (two passes: on black and on white, which gives the alpha).
    assert [int(t) for t in captions.drawn] == [0, 0, 1, 1, 2, 2]
    picture = frames.picture(45).y
    assert picture[1250, 550] > 200  # the box the caption drawer drew is on the frame


def test_the_palette_follows_the_topic_and_the_sleepy_one_stays_dark() -> None:
    from sf_media.formats import Format
    from sf_media.palette import palette_for

    assert palette_for("tide pools", Format.SHORT) == palette_for("tide pools", Format.SHORT)
    assert palette_for("tide pools", Format.SHORT) != palette_for("volcanoes", Format.SHORT)
    sleepy = palette_for("volcanoes", Format.SLEEPY)
    assert max(sleepy.deep + sleepy.mid + sleepy.glow + sleepy.highlight) < 60


def test_shorts_move_between_consecutive_animation_steps() -> None:
    spec = spec_for("short")
    script = TemplateScriptWriter().write("tide pools", "short", 20)
    frames = FrameSource(script, spec, captions=_NoCaptions())
    per_step = round(spec.fps / spec.animation_fps)

    now = frames.background(frames.key(300)[0]).y.astype(np.int16)
    after = frames.background(frames.key(300 + per_step)[0]).y.astype(np.int16)

    changed = np.abs(now - after) > 0
    assert changed.mean() > 0.05  # moving...
    assert np.abs(now - after).max() < 40  # ...smoothly


def test_chapter_cards_are_not_all_kept_in_memory() -> None:
    """A card overlay is a few MB; a four-hour longform with dozens of chapters must not keep them all."""
    spec = spec_for("longform")
    script = TemplateScriptWriter().write("tide pools", "longform", 600)
    frames = FrameSource(script, spec, captions=_NoCaptions())

    for section in script.sections:
        frames.picture(round((section.sentences[0].start + 0.5) * spec.fps))

    assert len(script.sections) >= 4
    assert len(frames._cards) <= 2
