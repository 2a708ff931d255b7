import re

from sf_media import TemplateScriptWriter, caption_cues, to_srt
from sf_media.captions import LINE_CHARS

_CUE = re.compile(
    r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)\n((?:[^\n]+\n){1,2})$"
)


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def test_srt_is_numbered_timed_and_ordered_cues_of_at_most_two_short_lines() -> None:
    script = TemplateScriptWriter().write("tide pools", "longform", 300)

    srt = to_srt(caption_cues(script))

    blocks = srt.split("\n\n")
    previous_end = 0.0
    for number, block in enumerate(blocks, start=1):
        match = _CUE.match(block if block.endswith("\n") else block + "\n")
        assert match, block
        assert int(match.group(1)) == number
        start, end = _seconds(*match.group(2, 3, 4, 5)), _seconds(*match.group(6, 7, 8, 9))
        assert previous_end <= start < end
        assert all(len(line) <= LINE_CHARS for line in match.group(10).splitlines())
        previous_end = end
    assert previous_end <= script.duration


def test_captions_say_every_sentence_word_for_word() -> None:
    script = TemplateScriptWriter().write("tide pools", "short", 45)

    spoken = " ".join(cue.text.replace("\n", " ") for cue in caption_cues(script))

    assert spoken == " ".join(sentence.text for sentence in script.sentences())
