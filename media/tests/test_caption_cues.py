import itertools
import re
from pathlib import Path

import pytest
from sf_media import TemplateScriptWriter
from sf_media.captions import CueRules, caption_cues, to_srt, to_vtt, word_timings, write_captions
from sf_media.formats import Format
from sf_media.script import Script, Section, Sentence

_SRT_CUE = re.compile(
    r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)\n((?:[^\n]+\n){1,2})$"
)
_VTT_CUE = re.compile(
    r"(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n((?:[^\n]+\n){1,2})$"
)


def _script(*sentences: tuple[str, float, float], fmt: Format = Format.LONGFORM) -> Script:
    timed = tuple(Sentence(text, start, end) for text, start, end in sentences)
    end = max(s.end for s in timed) + 1.0
    return Script("A title", "tide pools", fmt, round(end), end, (Section("Tide pools", timed),))


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def test_a_sentence_just_over_two_lines_is_split_evenly_not_into_two_lines_and_an_orphan_word() -> None:
    # 85 characters: two full 42-character lines would leave "pools." alone in a 0.3 s cue.
    text = "Every morning the tide pulls back and leaves small worlds behind in the rocky tide pools."
    cues = caption_cues(_script((text, 1.0, 6.0)))

    assert len(cues) == 2
    assert all(len(cue.words) >= 5 for cue in cues)
    assert all(cue.end - cue.start >= 2.0 for cue in cues)


@pytest.mark.parametrize("fmt", ["short", "longform", "sleepy"])
@pytest.mark.parametrize("rules", [CueRules(), CueRules(line_chars=16, max_lines=2), CueRules(max_lines=1)])
def test_template_scripts_give_cues_within_every_limit(fmt: str, rules: CueRules) -> None:
    script = TemplateScriptWriter().write("tide pools", fmt, 45 if fmt == "short" else 600)

    cues = caption_cues(script, rules)

    previous_end = 0.0
    for cue in cues:
        assert previous_end <= cue.start < cue.end
        assert len(cue.lines) <= rules.max_lines
        assert all(len(line) <= rules.line_chars for line in cue.lines)
        assert cue.end - cue.start <= rules.max_seconds
        previous_end = cue.end
    # No orphans: a one-word cue only where the whole sentence is one word.
    sentence_words = {s.text: s.words for s in script.sentences()}
    one_word = [cue for cue in cues if len(cue.words) == 1]
    assert all(sentence_words.get(cue.text) == 1 for cue in one_word)
    # Every cue stays up at least a second unless the next cue starts sooner.
    for cue, following in itertools.pairwise(cues):
        assert cue.end - cue.start >= rules.min_seconds - 1e-9 or cue.end == following.start


def test_captions_say_every_sentence_word_for_word_in_order() -> None:
    script = TemplateScriptWriter().write("tide pools", "short", 45)

    for rules in (CueRules(), CueRules(line_chars=16)):
        spoken = " ".join(cue.text.replace("\n", " ") for cue in caption_cues(script, rules))
        assert spoken == " ".join(sentence.text for sentence in script.sentences())


def test_a_quick_one_word_sentence_stays_up_a_second_when_the_pause_allows() -> None:
    cues = caption_cues(_script(("Really?", 1.0, 1.4), ("Yes, and the tide agrees.", 3.0, 4.5)))

    assert cues[0].text == "Really?"
    assert cues[0].end == pytest.approx(2.0)


def test_word_timings_fill_the_sentence_and_give_long_words_more_time() -> None:
    sentence = Sentence("A barnacle, remarkably, waits.", 2.0, 5.0)

    words = word_timings(sentence)

    assert [w.text for w in words] == ["A", "barnacle,", "remarkably,", "waits."]
    assert words[0].start == 2.0
    assert words[-1].end == pytest.approx(5.0)
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(words))
    assert words[2].end - words[2].start > words[0].end - words[0].start


def test_srt_is_numbered_timed_and_ordered() -> None:
    script = TemplateScriptWriter().write("tide pools", "longform", 300)

    blocks = to_srt(caption_cues(script)).split("\n\n")

    previous_end = 0.0
    for number, block in enumerate(blocks, start=1):
        match = _SRT_CUE.match(block if block.endswith("\n") else block + "\n")
        assert match, block
        assert int(match.group(1)) == number
        start, end = _seconds(*match.group(2, 3, 4, 5)), _seconds(*match.group(6, 7, 8, 9))
        assert previous_end <= start < end
        previous_end = end
    assert previous_end <= script.duration


def test_vtt_has_the_header_and_the_same_cues_as_the_srt(tmp_path: Path) -> None:
    directory = tmp_path
    script = _script(
        ("Tide pools <small> & bright, at dawn.", 1.0, 3.0), ("Café über Straße — 潮.", 4.0, 6.0)
    )

    srt, vtt = write_captions(script, directory)

    text = vtt.read_text(encoding="utf-8")
    assert text.startswith("WEBVTT\n\n")
    blocks = text.removeprefix("WEBVTT\n\n").split("\n\n")
    srt_blocks = srt.read_text(encoding="utf-8").split("\n\n")
    assert len(blocks) == len(srt_blocks) == 2
    for block, srt_block in zip(blocks, srt_blocks, strict=True):
        match = _VTT_CUE.match(block if block.endswith("\n") else block + "\n")
        assert match, block
        assert srt_block.split("\n", 2)[1].replace(",", ".") == block.split("\n", 1)[0]
    assert "&lt;small&gt; &amp; bright" in text
    assert "Café über Straße — 潮." in text
    assert to_vtt([]) == "WEBVTT\n\n"


def test_cues_and_lines_rather_break_after_a_clause() -> None:
    text = "When the tide goes out at dusk, small crabs hide under every rock they can find."
    script = _script((text, 1.0, 6.0))

    two_cues = caption_cues(script, CueRules(line_chars=30, max_lines=2))
    two_lines = caption_cues(script, CueRules(line_chars=50, max_lines=2))

    assert two_cues[0].text.replace("\n", " ").endswith("dusk,")
    assert two_lines[0].lines[0].endswith("dusk,")
