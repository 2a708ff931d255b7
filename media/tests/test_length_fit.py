"""A finished video lasts what was asked: within 3 % or 2 s (whichever is larger) of the length."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sf_media import MediaError, TemplateScriptWriter, ToneSpeaker, narrate, spec_for
from sf_media.given_script import GivenScriptWriter
from sf_media.timing import MAX_GAP_FACTOR


def _tolerance(length: float) -> float:
    return max(0.03 * length, 2.0)


@pytest.mark.parametrize(
    ("fmt", "length"),
    [
        ("short", 10),
        ("short", 15),
        ("short", 30),
        ("short", 45),
        ("short", 59),
        ("longform", 60),
        ("longform", 180),
        ("longform", 300),
        ("longform", 1020),
        ("sleepy", 60),
        ("sleepy", 600),
    ],
)
@pytest.mark.parametrize("pace", [0.85, 1.0, 1.15])  # voices slower and faster than the writer planned
def test_fitted_to_real_speech_the_video_lands_on_the_requested_length(
    fmt: str, length: int, pace: float
) -> None:
    spec = spec_for(fmt)
    planned = TemplateScriptWriter().write("tide pools", fmt, length)
    speech = [len(s.text.split()) / (spec.words_per_second * pace) for s in planned.sentences()]

    final, kept = planned.fitted(speech)

    assert abs(final.duration - length) <= _tolerance(length), final.duration
    assert final.duration <= spec.max_seconds
    sentences = final.sentences()
    assert [s.text for s in sentences] == [planned.sentences()[i].text for i in kept]
    assert all(s.end - s.start == pytest.approx(speech[i]) for s, i in zip(sentences, kept, strict=True))
    if spec.speech_fraction >= 1.0:  # talk fills the video: no long silence at the end
        assert final.duration - sentences[-1].end <= spec.tail_seconds + _tolerance(length)
        gaps = [b.start - a.end for a, b in itertools.pairwise(sentences)]
        assert max(gaps) <= spec.section_gap_seconds * MAX_GAP_FACTOR + 1e-6


@pytest.mark.parametrize(("fmt", "length"), [("short", 15), ("short", 45), ("longform", 300)])
def test_a_narrated_video_lasts_the_requested_length(tmp_path: Path, fmt: str, length: int) -> None:
    planned = TemplateScriptWriter().write("tide pools", fmt, length)

    narration = narrate(planned, tmp_path, ToneSpeaker(words_per_second=2.6))

    assert abs(narration.script.duration - length) <= _tolerance(length)
    assert [u.text for u in narration.utterances] == [s.text for s in narration.script.sentences()]


def test_a_given_script_keeps_every_sentence_and_stretches_its_pauses_to_the_length() -> None:
    sentences = [f"Sentence number {n} about moss on old stones." for n in range(12)]
    given = {"title": "Moss", "sections": [{"title": "Green", "sentences": sentences}]}
    writer = GivenScriptWriter(given)
    natural = writer.natural_length("longform")

    planned = writer.write("moss", "longform", 60)
    final, kept = planned.fitted([2.5] * len(sentences))

    assert len(kept) == len(sentences)  # a user's own words are never dropped to fit
    assert abs(final.duration - 60) <= _tolerance(60)
    assert 30 <= natural <= 60


@pytest.mark.parametrize(
    ("fmt", "length", "said"),
    [("short", 59, "a short lasts at most 59 s"), ("longform", 60, "60 s is too short for it")],
)
def test_a_given_script_that_cannot_fit_is_refused_not_cut(fmt: str, length: int, said: str) -> None:
    sentences = [f"Sentence number {n} about moss growing slowly on old grey stones." for n in range(40)]
    writer = GivenScriptWriter({"title": None, "sections": [{"title": "Moss", "sentences": sentences}]})

    with pytest.raises(MediaError, match=said):
        writer.write("moss", fmt, length)
