import itertools
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from sf_media import TemplateScriptWriter, safe_area, spec_for
from sf_media.caption_overlay import CaptionOverlay, caption_area
from sf_media.caption_style import style_for
from sf_media.captions import caption_cues
from sf_media.script import Script, Section, Sentence

# The longest caption a template can produce, and a word longer than any line.
_LONG = (
    "People who study it will tell you that it is easiest to appreciate a very long and complicated "
    "topic name up close and in person, whatever the weather and the time of day may be."
)
_WIDE = (
    "Pneumonoultramicroscopicsilicovolcanoconiosis and "
    + "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"
)


def _with_sentences(script: Script, *texts: str) -> Script:
    start = script.sentences()[0].start
    sentences = tuple(Sentence(text, start + 8.0 * i, start + 8.0 * i + 7.0) for i, text in enumerate(texts))
    return replace(
        script, duration=start + 8.0 * len(texts) + 1.0, sections=(Section("Tide pools", sentences),)
    )


def _times(overlay: CaptionOverlay, fps: int = 30) -> list[float]:
    end = overlay.cues[-1].end + 1.0
    return [index / fps for index in range(round(end * fps))]


def test_short_keys_change_once_per_word_and_only_then() -> None:
    spec = spec_for("short")
    script = TemplateScriptWriter().write("tide pools", "short", 30)
    overlay = CaptionOverlay(script, spec)
    fps = 1000  # fine enough to see every word (the shortest is well over a millisecond)

    keys = [overlay.key_at(t) for t in _times(overlay, fps)]

    changes = [key for previous, key in itertools.pairwise(keys) if key != previous]
    shown = [key for key in changes if key is not None]
    words = sum(len(cue.words) for cue in overlay.cues)
    assert len(shown) == words  # a new key for every word, no more
    assert len(set(shown)) == words
    for cue_index, cue in enumerate(overlay.cues):
        for word_index, word in enumerate(cue.words):
            assert overlay.key_at(word.start + 1e-6) == (cue_index, word_index)


def test_longform_keys_change_once_per_cue() -> None:
    spec = spec_for("longform")
    script = TemplateScriptWriter().write("tide pools", "longform", 120)
    overlay = CaptionOverlay(script, spec)

    shown = {key for key in map(overlay.key_at, _times(overlay, 10)) if key is not None}

    assert shown == {(index,) for index in range(len(overlay.cues))}
    assert overlay.cues == caption_cues(script, overlay.style.rules)  # what the .srt says


def test_the_highlighted_word_is_drawn_in_the_highlight_colour() -> None:
    spec = spec_for("short")
    script = _with_sentences(TemplateScriptWriter().write("tide pools", "short", 30), "Tide pools glow")
    overlay = CaptionOverlay(script, spec)
    colour = np.array(overlay.style.highlight_colour)
    cue = overlay.cues[0]

    lit_x = []
    for word in cue.words:
        frame = Image.new("RGB", (spec.width, spec.height), (20, 20, 40))
        overlay.draw(frame, word.start + 0.01)
        pixels = np.asarray(frame).astype(int)
        _ys, xs = np.nonzero(np.abs(pixels - colour).max(axis=2) < 8)
        assert len(xs) > 500
        lit_x.append(xs.mean())
    assert lit_x == sorted(lit_x)  # the light moves left to right along the line


@pytest.mark.parametrize("fmt", ["short", "longform", "sleepy"])
@pytest.mark.parametrize("aspect", ["9:16", "16:9", "1:1"])
@pytest.mark.parametrize("position", ["bottom", "middle", "top"])
def test_captions_stay_inside_the_safe_area_for_every_format_aspect_and_position(
    fmt: str, aspect: str, position: str
) -> None:
    spec = spec_for(fmt, aspect)
    style = style_for(spec, {"position": position, "box": True})
    script = _with_sentences(TemplateScriptWriter().write("tide pools", fmt, 45), _LONG, _WIDE, "Café 潮.")
    overlay = CaptionOverlay(script, spec, style)
    area = caption_area(spec)

    assert safe_area(spec).contains(area)
    for cue in overlay.cues:
        t = cue.start + 0.01
        frame = Image.new("RGB", (spec.width, spec.height), (0, 0, 0))
        overlay.draw(frame, t)
        ys, xs = np.nonzero(np.asarray(frame).max(axis=2) > 0)
        assert len(xs), cue.text
        ink = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        box = overlay.box_at(t)
        assert box is not None and area.contains(box)
        assert box.left <= ink[0] and box.top <= ink[1] and ink[2] <= box.right and ink[3] <= box.bottom


def test_short_captions_keep_clear_of_the_title_bar_the_description_and_the_side_buttons() -> None:
    spec = spec_for("short")
    script = _with_sentences(TemplateScriptWriter().write("tide pools", "short", 45), _LONG)
    overlay = CaptionOverlay(script, spec)

    for cue in overlay.cues:
        box = overlay.box_at(cue.start)
        assert box is not None
        assert box.top >= 0.12 * spec.height and box.bottom <= 0.80 * spec.height
        assert box.right <= 0.87 * spec.width and box.left >= 0.13 * spec.width


def test_sleepy_captions_stop_after_the_first_minutes() -> None:
    spec = spec_for("sleepy")
    script = TemplateScriptWriter().write("the moon", "sleepy", 1200)
    overlay = CaptionOverlay(script, spec)
    until = overlay.style.until_seconds
    assert until is not None and until < 600

    later = [overlay.key_at(s.start + 0.5) for s in script.sentences() if s.start >= until]

    assert later and all(key is None for key in later)
    assert overlay.key_at(script.sentences()[0].start + 0.5) is not None
    assert all(cue.end <= until for cue in overlay.cues)


def test_a_caption_is_rendered_once_per_key_and_reused() -> None:
    spec = spec_for("short")
    overlay = CaptionOverlay(TemplateScriptWriter().write("tide pools", "short", 30), spec)
    word = overlay.cues[0].words[0]
    frame = Image.new("RGB", (spec.width, spec.height))

    overlay.draw(frame, word.start)
    first = overlay._sprite(overlay.key_at(word.start))
    overlay.draw(frame, word.start + 1e-3)

    assert overlay._sprite(overlay.key_at(word.start + 1e-3)) is first
