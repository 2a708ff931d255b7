"""The script of a video: title, sections of sentences, and when each sentence is spoken.

`ScriptWriter` is the port every writer implements: `TemplateScriptWriter` (offline, deterministic,
the default), `llm_writer.LLMScriptWriter` (an OpenAI-compatible server) and
`given_script.GivenScriptWriter` (the user's own script).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sf_media import template_plan
from sf_media.errors import MediaError
from sf_media.formats import Format, FormatSpec, spec_for
from sf_media.timing import estimate_seconds, narration_span, paced, place


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    start: float
    end: float

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    sentences: tuple[Sentence, ...]

    @property
    def title(self) -> str:
        """The section's chapter name (the same as `heading`)."""
        return self.heading


@dataclass(frozen=True, slots=True)
class Script:
    """A script with per-sentence timings; `duration` is the whole video's length in seconds."""

    title: str
    topic: str
    format: Format
    length_seconds: int
    duration: float
    sections: tuple[Section, ...]
    # For the upload page; empty: publishing derives them from the opening lines and the topic.
    description: str = ""
    tags: tuple[str, ...] = ()
    # False for a user's own script: re-timing never drops its sentences to fit the length.
    trimmable: bool = True

    def sentences(self) -> list[Sentence]:
        return [sentence for section in self.sections for sentence in section.sentences]

    def retimed(self, durations: Sequence[float]) -> Script:
        """The script placed with measured speech durations (one per sentence, in order)."""
        return self.fitted(durations)[0]

    def fitted(self, durations: Sequence[float]) -> tuple[Script, list[int]]:
        """The script fitted to its length with measured speech durations (one per sentence, in
        order), and the positions (in `sentences()`) of the sentences it kept.

        Pauses shrink or stretch and sentences that do not fit are dropped (see `timing.place`), so
        the video lasts the requested length within a pause or two.
        """
        if len(durations) != len(self.sentences()):
            raise MediaError(f"{len(durations)} durations for {len(self.sentences())} sentences")
        grouped: list[list[float]] = []
        remaining = list(durations)
        for section in self.sections:
            grouped.append(remaining[: len(section.sentences)])
            del remaining[: len(section.sentences)]
        texts = [[s.text for s in section.sentences] for section in self.sections]
        headings = [section.heading for section in self.sections]
        script, indices = _assemble(self, headings, texts, grouped, fit=True)
        offsets = [0]
        for section in self.sections:
            offsets.append(offsets[-1] + len(section.sentences))
        kept = [offsets[s] + i for s, section in enumerate(indices) for i in section]
        return script, kept

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "topic": self.topic,
            "format": self.format.value,
            "length_seconds": self.length_seconds,
            "duration": round(self.duration, 3),
            "description": self.description,
            "tags": list(self.tags),
            "trimmable": self.trimmable,
            "sections": [
                {
                    "heading": section.heading,
                    "sentences": [
                        {"text": s.text, "start": round(s.start, 3), "end": round(s.end, 3)}
                        for s in section.sentences
                    ],
                }
                for section in self.sections
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Script:
        data = json.loads(text)
        return cls(
            title=data["title"],
            topic=data["topic"],
            format=Format(data["format"]),
            length_seconds=int(data["length_seconds"]),
            duration=float(data["duration"]),
            sections=tuple(
                Section(
                    heading=section["heading"],
                    sentences=tuple(
                        Sentence(text=s["text"], start=float(s["start"]), end=float(s["end"]))
                        for s in section["sentences"]
                    ),
                )
                for section in data["sections"]
            ),
            description=str(data.get("description", "")),
            tags=tuple(str(tag) for tag in data.get("tags", ())),
            trimmable=bool(data.get("trimmable", True)),
        )

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", "", f"*{self.format.value}, {_clock(self.duration)}*", ""]
        for section in self.sections:
            lines += [f"## {section.heading}", ""]
            lines += [f"- `{_clock(s.start)}` {s.text}" for s in section.sentences]
            lines.append("")
        return "\n".join(lines)


class ScriptWriter(Protocol):
    def write(self, topic: str, format: str, length_seconds: int, *, pace: float = 1.0) -> Script:
        """A script for a `format` video about `topic` lasting about `length_seconds`, for a voice
        speaking `pace` times as fast as the format's usual rate (the job's speaking rate)."""
        ...


class TemplateScriptWriter:
    """Offline writer: sentences dealt from themed templates with a seed derived from its inputs
    (same topic, format and length -> the same script, byte for byte)."""

    def write(self, topic: str, format: str, length_seconds: int, *, pace: float = 1.0) -> Script:
        spec = paced(spec_for(format), pace)
        topic = " ".join(topic.split())
        if not topic:
            raise MediaError("a script needs a topic")
        if not 0 < length_seconds <= spec.max_seconds:
            raise MediaError(
                f"{spec.format.value} length must be 1..{spec.max_seconds:.0f} s, got {length_seconds}"
            )
        planned = template_plan.plan(topic, spec, length_seconds)
        return script_from_texts(
            title=planned.title,
            topic=topic,
            format=spec.format.value,
            length_seconds=length_seconds,
            headings=planned.headings,
            texts=planned.texts,
            pace=pace,
        )


def script_from_texts(
    *,
    title: str,
    topic: str,
    format: str,
    length_seconds: int,
    headings: Sequence[str],
    texts: Sequence[Sequence[str]],
    description: str = "",
    tags: Sequence[str] = (),
    trimmable: bool = True,
    pace: float = 1.0,
) -> Script:
    """A planned script (timings estimated at the format's speech rate times `pace`) from written
    sections."""
    spec = paced(spec_for(format), pace)
    estimates = [[estimate_seconds(text, spec) for text in section] for section in texts]
    draft = Script(title, topic, spec.format, length_seconds, 0.0, (), description, tuple(tags), trimmable)
    return _assemble(draft, headings, texts, estimates)[0]


def word_budget(spec: FormatSpec, length_seconds: int, words_per_sentence: float = 12.0) -> int:
    """Words of narration that fill `length_seconds`, pauses between sentences allowed for."""
    speech = narration_span(spec, length_seconds) * spec.speech_fraction
    if spec.speech_fraction >= 1.0:  # continuous talk also spends its time on the pauses
        sentence_seconds = words_per_sentence / spec.words_per_second
        speech *= sentence_seconds / (sentence_seconds + spec.sentence_gap_seconds)
    return max(1, round(speech * spec.words_per_second))


def _assemble(
    base: Script,
    headings: Sequence[str],
    texts: Sequence[Sequence[str]],
    durations: Sequence[Sequence[float]],
    *,
    fit: bool = False,
) -> tuple[Script, tuple[tuple[int, ...], ...]]:
    spec = spec_for(base.format)
    placement = place(durations, spec, base.length_seconds, fit=fit, trimmable=base.trimmable)
    sections = (
        Section(
            heading,
            tuple(
                Sentence(section_texts[index], start, end)
                for index, (start, end) in zip(indices, spans, strict=True)
            ),
        )
        for heading, section_texts, spans, indices in zip(
            headings, texts, placement.spans, placement.indices, strict=False
        )
    )
    kept = tuple(section for section in sections if section.sentences)
    return replace(base, duration=placement.duration, sections=kept), placement.indices


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes:02d}:{rest:04.1f}"
