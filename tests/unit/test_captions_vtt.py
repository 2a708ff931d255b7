"""SubRip captions become WebVTT for the browser's <track>."""

from __future__ import annotations

from sf_api.captions import srt_to_vtt


def test_srt_becomes_webvtt_with_dotted_milliseconds() -> None:
    srt = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\nHello, world\r\n\r\n"
        "2\r\n01:02:03,004 --> 01:02:04,005\r\nBye\r\n"
    )
    assert srt_to_vtt(srt) == (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\nHello, world\n\n2\n01:02:03.004 --> 01:02:04.005\nBye\n"
    )


def test_a_comma_in_the_text_is_left_alone() -> None:
    assert "12,345 sheep" in srt_to_vtt("1\n00:00:00,000 --> 00:00:01,000\n12,345 sheep\n")
