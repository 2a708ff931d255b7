import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from sf_media import TemplateScriptWriter, spec_for
from sf_media.caption_overlay import CaptionOverlay
from sf_media.errors import MediaError
from sf_media.fonts import chain, coverage, family_files
from sf_media.layout import font, wrap
from sf_media.script import Section, Sentence

_WORLD = "é ü ß — 潮 Ωμέγα привет déjà naïve Ærø"
# A private-use code point no font covers: every font draws its .notdef box for it.
_UNCOVERED = "\U0010fffd"


def _glyph(face: ImageFont.FreeTypeFont, char: str) -> np.ndarray:
    size = round(face.size)
    image = Image.new("L", (2 * size, 2 * size), 0)
    ImageDraw.Draw(image).text((size // 2, size // 2), char, font=face, fill=255)
    return np.asarray(image)


@pytest.mark.parametrize("weight", [400, 800])
def test_every_character_is_covered_and_none_draws_as_the_notdef_box(weight: int) -> None:
    fonts = chain(64, weight)

    assert fonts.missing(_WORLD) == set()
    for run in fonts.runs(_WORLD):
        notdef = _glyph(run.font, _UNCOVERED)
        assert notdef.any()  # the box itself is visible ink
        for char in run.text.replace(" ", ""):
            drawn = _glyph(run.font, char)
            assert drawn.any(), char
            assert not np.array_equal(drawn, notdef), f"{char!r} rendered as .notdef"


def test_cjk_falls_back_to_noto_cjk_and_latin_stays_in_noto_sans() -> None:
    runs = chain(64, 800).runs("Tide 潮 pools")

    assert [run.text for run in runs] == ["Tide ", "潮 ", "pools"]
    assert "CJK" in str(runs[1].font.path)
    assert "NotoSans[" in str(runs[0].font.path) and runs[2].font.path == runs[0].font.path


def test_the_primary_font_is_noto_sans_with_real_weights() -> None:
    regular, bold = font(64, 400), font(64, 800)

    assert ord("潮") not in coverage(family_files("Noto Sans", 400)[0])
    assert {ord(c) for c in "éüß—Ωж"} <= coverage(family_files("Noto Sans", 400)[0])
    assert bold.getlength("Tide pools") > regular.getlength("Tide pools")  # bold is wider: not one face


def test_unspaced_cjk_text_wraps_between_characters() -> None:
    lines = wrap("潮" * 40, 64, 640)

    assert len(lines) > 1
    assert "".join(lines) == "潮" * 40
    assert all(chain(64).getlength(line) <= 640 for line in lines)


def test_unknown_families_and_weights_fail_clearly() -> None:
    with pytest.raises(MediaError, match="unknown font family 'Comic'"):
        chain(40, 400, "Comic")
    with pytest.raises(MediaError, match="does not exist"):
        chain(40, 400, "/nowhere/font.ttf")
    with pytest.raises(MediaError, match="weight 950"):
        chain(40, 950)


def test_a_real_short_frame_draws_accents_and_cjk_with_ink_in_every_glyph() -> None:
    spec = spec_for("short")
    script = TemplateScriptWriter().write("tide pools", "short", 30)
    first = script.sentences()[0]
    script = type(script)(
        script.title,
        script.topic,
        script.format,
        script.length_seconds,
        script.duration,
        (Section("Tide pools", (Sentence("Café über Straße — 潮!", first.start, first.start + 3.0),)),),
    )
    overlay = CaptionOverlay(script, spec)
    frame = Image.new("RGB", (spec.width, spec.height), (30, 30, 60))

    overlay.draw(frame, first.start + 0.1)

    box = overlay.box_at(first.start + 0.1)
    assert box is not None
    pixels = np.asarray(frame)[box.top : box.bottom, box.left : box.right]
    white = (pixels > 240).all(axis=2)
    assert white.sum() > 2000  # the text fill is there, in the caption's box only
    assert not (np.asarray(frame)[: box.top] != (30, 30, 60)).any()
