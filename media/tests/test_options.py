import pytest
from sf_media import MediaError, SpeechError, VideoOptions, spec_for
from sf_media.speech import PiperSpeaker, default_speaker


@pytest.mark.parametrize(
    ("aspect", "size"), [("9:16", (1080, 1920)), ("16:9", (1920, 1080)), ("1:1", (1080, 1080))]
)
def test_any_format_renders_at_any_aspect_ratio(aspect: str, size: tuple[int, int]) -> None:
    for fmt in ("short", "longform", "sleepy"):
        spec = spec_for(fmt, aspect)
        assert (spec.width, spec.height) == size
        assert spec.fps == spec_for(fmt).fps


def test_an_unknown_aspect_ratio_or_rate_is_refused_with_its_name() -> None:
    with pytest.raises(MediaError, match="4:3"):
        spec_for("short", "4:3")
    with pytest.raises(MediaError, match="4:3"):
        VideoOptions(aspect="4:3")
    with pytest.raises(MediaError, match="speaking rate"):
        VideoOptions(speaking_rate=3.0)


def test_an_unknown_voice_names_the_installed_ones() -> None:
    with pytest.raises(SpeechError, match="joe"):
        default_speaker(voice="nobody")


def test_a_faster_rate_shortens_piper_phonemes() -> None:
    slow = default_speaker(1.2, rate=1.0)
    fast = default_speaker(1.2, rate=1.5)
    assert isinstance(slow, PiperSpeaker) and isinstance(fast, PiperSpeaker)
    assert fast._length_scale == pytest.approx(0.8)
