import itertools

import pytest
from sf_media import MediaError, Script, TemplateScriptWriter, spec_for
from sf_media.timing import estimate_seconds, margins


def _gaps(script: Script) -> list[float]:
    sentences = script.sentences()
    return [b.start - a.end for a, b in itertools.pairwise(sentences)]


def test_same_inputs_write_the_same_script() -> None:
    writer = TemplateScriptWriter()

    first = writer.write("tide pools", "longform", 600)
    second = TemplateScriptWriter().write("tide pools", "longform", 600)

    assert first.to_json() == second.to_json()
    assert writer.write("volcanoes", "longform", 600).to_json() != first.to_json()


@pytest.mark.parametrize(
    ("fmt", "length"), [("short", 45), ("short", 59), ("longform", 1020), ("longform", 120)]
)
def test_planned_speech_and_pauses_add_up_to_roughly_the_requested_length(fmt: str, length: int) -> None:
    spec = spec_for(fmt)

    script = TemplateScriptWriter().write("tide pools", fmt, length)

    sentences = script.sentences()
    lead, tail = margins(spec, length)
    for sentence in sentences:
        assert sentence.end - sentence.start == pytest.approx(estimate_seconds(sentence.text, spec))
    assert all(gap >= spec.sentence_gap_seconds - 1e-9 for gap in _gaps(script))
    speech = sum(s.end - s.start for s in sentences)
    assert lead + speech + sum(_gaps(script)) + tail == pytest.approx(script.duration)
    # Planned a little long on purpose: fitting to the real speech drops the surplus.
    assert length <= script.duration <= 1.25 * length


def test_a_sleepy_script_lasts_exactly_the_requested_length_with_long_pauses() -> None:
    spec = spec_for("sleepy")

    script = TemplateScriptWriter().write("the moon", "sleepy", 3600)

    assert script.duration == 3600
    assert min(_gaps(script)) >= spec.sentence_gap_seconds
    speech = sum(s.end - s.start for s in script.sentences())
    assert 0.2 * 3600 < speech < 0.5 * 3600  # calm: mostly pauses, the bed fills the rest


def test_a_ten_hour_sleepy_narrates_at_most_its_span_and_leaves_the_rest_to_the_bed() -> None:
    spec = spec_for("sleepy")

    script = TemplateScriptWriter().write("the moon", "sleepy", 36_000)

    assert script.duration == 36_000
    assert script.sentences()[-1].end <= spec.lead_in_seconds + spec.narration_span_max_seconds + 1e-6


def test_retiming_follows_measured_speech_and_drops_what_no_longer_fits_a_short() -> None:
    planned = TemplateScriptWriter().write("tide pools", "short", 59)
    slow = [10.0] * len(planned.sentences())  # a voice far slower than planned

    final = planned.retimed(slow)

    assert final.duration < 60
    assert 0 < len(final.sentences()) < len(planned.sentences())
    assert all(s.end - s.start == pytest.approx(10.0) for s in final.sentences())
    kept, said = [s.text for s in final.sentences()], [s.text for s in planned.sentences()]
    assert kept[0] == said[0] and kept[-1] == said[-1]  # the hook and the outro stay
    assert all(text in said for text in kept)


def test_json_round_trips_with_sentence_timings() -> None:
    script = TemplateScriptWriter().write("tide pools", "short", 45)

    again = Script.from_json(script.to_json())

    assert again.to_json() == script.to_json()
    first = script.to_dict()["sections"][0]["sentences"][0]
    assert set(first) == {"text", "start", "end"}
    assert first["start"] < first["end"]


def test_markdown_lists_title_headings_and_every_sentence() -> None:
    script = TemplateScriptWriter().write("tide pools", "short", 45)

    markdown = script.to_markdown()

    assert markdown.startswith(f"# {script.title}\n")
    assert all(f"## {section.heading}" in markdown for section in script.sections)
    assert all(sentence.text in markdown for sentence in script.sentences())


@pytest.mark.parametrize(
    ("topic", "fmt", "length"), [("", "short", 30), ("x", "short", 60), ("x", "movie", 30)]
)
def test_unusable_requests_are_refused_with_a_media_error(topic: str, fmt: str, length: int) -> None:
    with pytest.raises(MediaError):
        TemplateScriptWriter().write(topic, fmt, length)
