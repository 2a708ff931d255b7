"""The core validates a job's aspect ratio and speaking rate with its own copy of the media library's
limits (it must not import the library); they must never drift apart."""

from sf_media import options as media
from sleepy_factory import job_input as core


def test_the_core_allows_exactly_the_aspect_ratios_the_media_library_draws() -> None:
    assert set(core.ASPECT_RATIOS) == set(media.ASPECT_SIZES)


def test_the_core_allows_exactly_the_speaking_rates_the_media_library_accepts() -> None:
    assert (core.MIN_SPEAKING_RATE, core.MAX_SPEAKING_RATE) == (
        media.MIN_SPEAKING_RATE,
        media.MAX_SPEAKING_RATE,
    )
