"""The script of a video: title, sections of sentences, and when each sentence is spoken.

`ScriptWriter` is the port an LLM backend will implement later; `TemplateScriptWriter` is the offline,
deterministic stand-in (same topic, format and length -> the same script, byte for byte).
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sf_media import templates
from sf_media.errors import MediaError
from sf_media.formats import Format, FormatSpec, spec_for
from sf_media.timing import narration_span, place


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
    def write(self, topic: str, format: str, length_seconds: int) -> Script:
        """A script for a `format` video about `topic` lasting about `length_seconds`."""
        ...


class TemplateScriptWriter:
    """Offline writer: picks lines from fixed sentence banks with a seed derived from its inputs."""

    def write(self, topic: str, format: str, length_seconds: int) -> Script:
        spec = spec_for(format)
        topic = " ".join(topic.split())
        if not topic:
            raise MediaError("a script needs a topic")
        if not 0 < length_seconds <= spec.max_seconds:
            raise MediaError(
                f"{spec.format.value} length must be 1..{spec.max_seconds:.0f} s, got {length_seconds}"
            )
        seed = hashlib.sha256(f"{topic}\0{spec.format.value}\0{length_seconds}".encode()).digest()
        rng = random.Random(seed)
        fill = {"topic": topic, "Topic": topic[0].upper() + topic[1:]}
        title = rng.choice(templates.TITLES[spec.format.value]).format(
            topic=topic, Topic=string.capwords(topic)
        )
        headings, texts = _plan(spec, length_seconds, _Dealer(rng, spec, fill))
        estimates = [[estimate_seconds(text, spec) for text in section] for section in texts]
        draft = Script(title, topic, spec.format, length_seconds, 0.0, ())
        return _assemble(draft, headings, texts, estimates)[0]


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
) -> Script:
    """A planned script (timings estimated at the format's speech rate) from written sections."""
    spec = spec_for(format)
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


def estimate_seconds(text: str, spec: FormatSpec) -> float:
    """Planned speaking time of a sentence at the format's speech rate."""
    return len(text.split()) / spec.words_per_second


class _Dealer:
    """Deals sentences from a shuffled deck, so no line repeats until every line has been used."""

    def __init__(self, rng: random.Random, spec: FormatSpec, fill: dict[str, str]) -> None:
        self._rng = rng
        self._fill = fill
        calm = spec.format is Format.SLEEPY
        self._cores = templates.CALM if calm else templates.FACTS
        self._openers = templates.CALM_OPENERS if calm else templates.OPENERS
        self._deck: list[str] = []

    def special(self, bank: Sequence[str], max_seconds: float, spec: FormatSpec) -> str | None:
        """A hook or outro that fits in `max_seconds`; None if none fits."""
        lines = [_sentence("", line, self._fill) for line in bank]
        fitting = [line for line in lines if estimate_seconds(line, spec) <= max_seconds]
        return self._rng.choice(fitting) if fitting else None

    def next(self, max_seconds: float, spec: FormatSpec) -> str | None:
        """The next line that fits in `max_seconds` (None if none does)."""
        if not self._deck:
            self._deck = list(self._cores)
            self._rng.shuffle(self._deck)
        opener = self._rng.choice(self._openers)
        for index, core in enumerate(self._deck):
            with_opener = opener if len(core.split()) >= 6 else ""
            text = _sentence(with_opener, core, self._fill)
            if estimate_seconds(text, spec) <= max_seconds:
                del self._deck[index]
                return text
        return None


def _plan(spec: FormatSpec, length_seconds: int, dealer: _Dealer) -> tuple[list[str], list[list[str]]]:
    """Headings and sentence texts whose estimated speech roughly fills the requested length."""
    span = narration_span(spec, length_seconds)
    all_headings = templates.HEADINGS[spec.format.value]
    if spec.format is Format.SHORT:
        headings, weights = list(all_headings), [0.2, 0.55, 0.25]
    else:
        per_section = 480.0 if spec.format is Format.SLEEPY else 150.0
        count = max(1, min(len(all_headings), round(span / per_section)))
        headings, weights = list(all_headings[:count]), [1.0 / count] * count
    # Continuous talk (short/longform) opens with a hook and closes with an outro; its budget also
    # pays for the pauses between sentences. Sleepy pauses are stretched to fit, so they cost nothing.
    talk = spec.speech_fraction >= 1.0
    gap = spec.sentence_gap_seconds if talk else 0.0
    texts: list[list[str]] = []
    carry = 0.0  # budget a section left unused (or overspent) passes on to the next
    for index, weight in enumerate(weights):
        budget = span * spec.speech_fraction * weight + carry
        section: list[str] = []
        if index == 0 and talk and (hook := dealer.special(templates.HOOKS, span, spec)):
            section.append(hook)
            budget -= estimate_seconds(hook, spec) + gap
        last = index == len(weights) - 1
        outro = dealer.special(templates.OUTROS, budget, spec) if last and talk else None
        if outro:
            budget -= estimate_seconds(outro, spec) + gap
        # The very first sentence may use the whole span: a video always says something.
        while (text := dealer.next(budget if texts or section else span, spec)) is not None:
            section.append(text)
            budget -= estimate_seconds(text, spec) + gap
        if outro:
            section.append(outro)
        texts.append(section)
        carry = budget
    return headings, texts


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


def _sentence(opener: str, core: str, fill: dict[str, str]) -> str:
    text = core.format(**fill)
    if opener:
        first = text[0].lower() if text[1:2].islower() else text[0]
        return f"{opener} {first}{text[1:]}"
    return text[0].upper() + text[1:]


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes:02d}:{rest:04.1f}"
