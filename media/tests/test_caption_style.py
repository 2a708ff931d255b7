import pytest
from sf_media import VideoOptions, spec_for
from sf_media.caption_style import default_style, parse_overrides, style_for
from sf_media.errors import MediaError


def test_each_format_has_its_own_default_style() -> None:
    short, longform, sleepy = (default_style(spec_for(f)) for f in ("short", "longform", "sleepy"))

    assert short.highlight_colour is not None and short.font_weight >= 700 and short.max_lines <= 2
    assert longform.highlight_colour is None and longform.box and longform.line_chars == 42
    assert sleepy.until_seconds is not None and sleepy.font_weight <= 400


def test_overrides_from_json_change_only_the_fields_given() -> None:
    spec = spec_for("longform")

    style = style_for(
        spec, '{"highlight_colour": "#7cf29a", "position": "middle", "size": 0.05, "box": false}'
    )

    assert style.highlight_colour == (124, 242, 154)
    assert (style.position, style.size, style.box) == ("middle", 0.05, False)
    assert style.font_weight == default_style(spec).font_weight
    assert style_for(spec, {"highlight_colour": None, "until_seconds": 30}).until_seconds == 30.0
    assert style_for(spec, {"text_colour": "#fff"}).text_colour == (255, 255, 255)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ('{"colour": "#fff"}', "unknown field 'colour'"),
        ('{"text_colour": "yellow"}', "text_colour must be a colour like"),
        ('{"text_colour": "#12345"}', "text_colour must be a colour like"),
        ('{"size": 2}', "size must be within"),
        ('{"size": "big"}', "size must be a number"),
        ('{"box": 1}', "box must be true or false"),
        ('{"max_lines": 2.5}', "max_lines must be a whole number"),
        ('{"max_lines": 7}', "max_lines must be within"),
        ('{"position": "left"}', "position must be one of bottom, middle, top"),
        ('{"font_weight": 1000}', "font_weight must be within"),
        ('{"font_family": "Comic Sans"}', "unknown font family"),
        ('{"until_seconds": -1}', "until_seconds must be >= 0"),
        ('{"line_chars": 4}', "line_chars must be within"),
        ("[1, 2]", "must be a JSON object, got list"),
        ('{"size": ', "not valid JSON"),
    ],
)
def test_bad_styles_fail_with_one_clear_error_naming_the_field(given: str, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        parse_overrides(given)


def test_video_options_check_the_caption_style_up_front() -> None:
    assert VideoOptions(caption_style={"position": "top"}).caption_style == {"position": "top"}
    with pytest.raises(MediaError, match="unknown field 'wobble'"):
        VideoOptions(caption_style={"wobble": True})
