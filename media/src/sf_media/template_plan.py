"""What the template writer says: a title, chapter names and sentences dealt from `templates`.

Deterministic: the same topic, format and length give the same plan. Every sentence is a frame
filled with the topic's theme; a frame and filling is used at most once per video (with or without
an opener in front), so nothing is said twice until the combinations run out, which only a
multi-hour explainer reaches. Continuous talk is planned a little longer than the length needs:
fitting it to the real speech drops the surplus (see timing.place), and can never add any.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sf_media import templates
from sf_media.formats import Format, FormatSpec
from sf_media.timing import estimate_seconds, narration_span

# Planned speech as a share of what the length needs, for formats that talk continuously.
RESERVE = 1.15
# Share of longer sentences that get an opener ("Gently, ...", "In fact, ...").
OPENER_SHARE = 0.3
SECTION_SECONDS = {Format.SHORT: 20.0, Format.LONGFORM: 150.0, Format.SLEEPY: 480.0}
_SLOT = re.compile(r"\{(\w+)\}")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Plan:
    title: str
    headings: list[str]
    texts: list[list[str]]


def plan(topic: str, spec: FormatSpec, length_seconds: int) -> Plan:
    seed = hashlib.sha256(f"{topic}\0{spec.format.value}\0{length_seconds}".encode()).digest()
    rng = random.Random(seed)
    words = _Words(topic, rng)
    title = words.fill(rng.choice(templates.TITLES[spec.format.value]))
    if len(topic.split()) >= _TITLE_LIKE_WORDS:
        # A phrase of its own ("A quiet evening by the lake") is already a title; wrapping it in
        # another ("A quiet evening with a quiet evening by the lake") reads as a slip.
        title = topic[:1].upper() + topic[1:]
    headings = _headings(spec, length_seconds, words, rng)
    dealer = _Dealer(spec, words, rng)
    return Plan(title, headings, _texts(spec, length_seconds, len(headings), dealer))


# Words a topic may start with only because it starts the user's phrase ("How volcanoes build
# islands"); inside a sentence they are lower case. Names ("Mount Fuji", "NASA") keep theirs.
_PHRASE_OPENERS = frozenset(
    [
        "a",
        "an",
        "the",
        "how",
        "why",
        "what",
        "when",
        "where",
        "who",
        "which",
        "whose",
        "our",
        "my",
        "your",
        "their",
        "his",
        "her",
        "its",
        "this",
        "that",
        "these",
        "those",
        "some",
        "every",
        "all",
        "life",
        "living",
        "inside",
        "beyond",
        "under",
        "over",
        "into",
    ]
)


_TITLE_LIKE_WORDS = 4


def mid_sentence(topic: str) -> str:
    """The topic as it reads inside a sentence: a capitalised common opening word is lowered."""
    first, _, rest = topic.partition(" ")
    if first.lower() in _PHRASE_OPENERS and first[:1].isupper() and first[1:].islower():
        return first.lower() + (" " + rest if rest else "")
    return topic


class _Words:
    """The slot values of one video: the topic as typed and its theme's vocabulary."""

    def __init__(self, topic: str, rng: random.Random) -> None:
        self.topic = mid_sentence(topic)
        self.theme = templates.theme_for(topic)
        self.rng = rng

    def choices(self, slot: str) -> Sequence[str]:
        name = slot.lower()
        if name == "topic":
            return (self.topic,)
        theme = self.theme
        return {
            "thing": theme.things,
            "place": theme.places,
            "sound": theme.sounds,
            "light": theme.lights,
            "texture": theme.textures,
            "people": templates.PEOPLE,
            "people2": templates.PEOPLE,
            "field": templates.FIELDS,
            "time": templates.TIMES,
            "body": templates.BODY,
            "pace": templates.PACES,
        }[name]

    def fill(self, frame: str, picks: dict[str, str] | None = None) -> str:
        """The frame with every slot filled (capitalised where the slot name is)."""
        picks = {} if picks is None else picks

        def value(match: re.Match[str]) -> str:
            slot = match.group(1)
            key = slot.lower()
            if key not in picks:
                picks[key] = self.rng.choice(self.choices(key))
            text = picks[key]
            return _capitalised(text) if slot[0].isupper() else text

        return _SLOT.sub(value, frame)


def _headings(spec: FormatSpec, length_seconds: int, words: _Words, rng: random.Random) -> list[str]:
    """Chapter names from the topic and its theme, never the same name twice."""
    if spec.format is Format.SHORT:
        pools = [list(pool) for pool in templates.SHORT_HEADINGS]
        return [words.fill(rng.choice(pool)) for pool in pools]
    ordered = templates.SLEEPY_HEADINGS if spec.format is Format.SLEEPY else templates.LONGFORM_HEADINGS
    span = narration_span(spec, length_seconds)
    count = max(1, min(len(ordered), round(span / SECTION_SECONDS[spec.format])))
    # Spread the chosen headings over the list so the last chapter always closes ("Almost asleep").
    picked = [ordered[round(i * (len(ordered) - 1) / max(count - 1, 1))] for i in range(count)]
    names: list[str] = []
    for frame in picked:
        for _ in range(10):  # a different filling if a name repeats
            name = words.fill(frame)
            if name not in names:
                break
        names.append(name)
    return names


class _Dealer:
    """Deals filled frames from a shuffled deck; each frame and filling at most once per video."""

    def __init__(self, spec: FormatSpec, words: _Words, rng: random.Random) -> None:
        calm = spec.format is Format.SLEEPY
        self._frames = templates.CALM if calm else templates.FACTS
        self._openers = templates.CALM_OPENERS if calm else templates.OPENERS
        self._spec = spec
        self._words = words
        self._rng = rng
        self._deck: list[str] = []
        self._said: set[str] = set()
        self._exhausted = 0  # full passes over the deck that found nothing new

    def special(self, bank: Sequence[str], max_seconds: float) -> str | None:
        """A hook or outro that fits in `max_seconds`; None if none does."""
        lines = [_capitalised(self._words.fill(line)) for line in bank]
        fitting = [line for line in lines if estimate_seconds(line, self._spec) <= max_seconds]
        if not fitting:
            return None
        line = self._rng.choice(fitting)
        self._said.add(line.lower())
        return line

    def next(self, max_seconds: float) -> str | None:
        """A sentence not yet said that fits in `max_seconds` (None if there is none).

        Only when every combination has been said (hours of explainer) may sentences come again.
        """
        fresh = False
        for _ in range(2):
            if not self._deck:
                self._deck = list(self._frames)
                self._rng.shuffle(self._deck)
            for index, frame in enumerate(self._deck):
                core = self._fresh(frame)
                if core is None:
                    continue
                fresh = True
                text = self._sentence(core)
                if estimate_seconds(text, self._spec) <= max_seconds:
                    del self._deck[index]
                    self._said.add(core.lower())
                    return text
            self._deck = []  # nothing in this pass fitted or was new: try a fresh shuffle once
        if not fresh and self._said:
            log.info("every template sentence has been said once; starting again")
            self._said.clear()
            return self.next(max_seconds)
        return None

    def _fresh(self, frame: str) -> str | None:
        """The frame with a filling not used before (a few random tries), or None."""
        for _ in range(12):
            core = self._words.fill(frame)
            if core.lower() not in self._said:
                return core
            if not _SLOT.search(frame.replace("{topic}", "").replace("{Topic}", "")):
                return None  # nothing to vary
        return None

    def _sentence(self, core: str) -> str:
        if len(core.split()) >= 6 and self._rng.random() < OPENER_SHARE:
            return f"{self._rng.choice(self._openers)} {core}"
        return _capitalised(core)


def _texts(spec: FormatSpec, length_seconds: int, sections: int, dealer: _Dealer) -> list[list[str]]:
    """Sentences per section whose estimated speech fills the length (plus the reserve)."""
    span = narration_span(spec, length_seconds)
    weights = [0.2, 0.55, 0.25] if spec.format is Format.SHORT else [1.0 / sections] * sections
    # Continuous talk opens with a hook and closes with an outro; its budget also pays for the
    # pauses between sentences. Sleepy pauses are stretched to fit, so they cost nothing.
    talk = spec.speech_fraction >= 1.0
    gap = spec.sentence_gap_seconds if talk else 0.0
    reserve = RESERVE if talk else 1.0
    texts: list[list[str]] = []
    carry = 0.0  # budget a section left unused (or overspent) passes on to the next
    for index, weight in enumerate(weights):
        budget = span * spec.speech_fraction * weight * reserve + carry
        section: list[str] = []
        if index == 0 and talk and (hook := dealer.special(templates.HOOKS, span)):
            section.append(hook)
            budget -= estimate_seconds(hook, spec) + gap
        last = index == len(weights) - 1
        outro = dealer.special(templates.OUTROS, budget) if last and talk else None
        if outro:
            budget -= estimate_seconds(outro, spec) + gap
        # The very first sentence may use the whole span: a video always says something.
        while (text := dealer.next(budget if texts or section else span)) is not None:
            section.append(text)
            budget -= estimate_seconds(text, spec) + gap
        if outro:
            section.append(outro)
        texts.append(section)
        carry = budget
    return texts


def _capitalised(text: str) -> str:
    """First letter upper case, the rest as written (so "iPhone", "NASA" and "the" stay readable)."""
    return text[:1].upper() + text[1:]
