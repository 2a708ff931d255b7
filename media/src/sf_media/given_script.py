"""The writer for a user's own script: their sections and sentences, timed like any other script.

The script arrives as the JSON shape `sf new-job --script` stores (`{"title": ..., "sections":
[{"title": ..., "sentences": [...]}]}`), already checked at job creation; it is checked again here
because a library trusts no caller. Nothing is dropped to fit a length (`trimmable=False`): without
a length the video lasts as long as the script takes to say, with one the pauses stretch to fill it.
"""

from __future__ import annotations

import math
from typing import Any

from sf_media.errors import MediaError
from sf_media.formats import FormatSpec, spec_for
from sf_media.script import Script, script_from_texts
from sf_media.timing import estimate_seconds, margins, paced

# A requested length may be this much shorter than the script's estimated length: pauses shrink.
SHORTEST_FIT = 0.85


class GivenScriptWriter:
    def __init__(self, script: dict[str, Any]) -> None:
        self.title, self.sections = _parse(script)

    def natural_length(self, format: str, pace: float = 1.0) -> int:
        """Seconds the script takes at the format's pace (times `pace`), pauses and margins included."""
        spec = paced(spec_for(format), pace)
        texts = [sentence for _, sentences in self.sections for sentence in sentences]
        speech = sum(estimate_seconds(text, spec) for text in texts)
        pauses = spec.sentence_gap_seconds * (len(texts) - 1)
        pauses += (spec.section_gap_seconds - spec.sentence_gap_seconds) * (len(self.sections) - 1)
        talk = (speech / spec.speech_fraction) if spec.speech_fraction < 1.0 else speech + pauses
        lead, tail = margins(spec, 10_000)
        return max(10, math.ceil(lead + talk + tail))

    def write(self, topic: str, format: str, length_seconds: int, *, pace: float = 1.0) -> Script:
        spec: FormatSpec = spec_for(format)
        # Refuse rather than drop the user's words: a short cannot pass its limit, and a length far
        # below what the script takes to say would cut it.
        natural = self.natural_length(format, pace)
        if natural > spec.max_seconds:
            raise MediaError(
                f"the script takes about {natural} s to say; a {spec.format.value} lasts at most "
                f"{spec.max_seconds:.0f} s: shorten it or choose a longer format"
            )
        if length_seconds < SHORTEST_FIT * natural:
            raise MediaError(
                f"the script takes about {natural} s to say; {length_seconds} s is too short for it "
                "(leave the length out to fit the script)"
            )
        title = self.title or " ".join(topic.split()) or "Untitled"
        headings = [
            name or (title if index == 0 else f"Part {index + 1}")
            for index, (name, _) in enumerate(self.sections)
        ]
        return script_from_texts(
            title=title,
            topic=" ".join(topic.split()) or title,
            format=spec.format.value,
            length_seconds=length_seconds,
            headings=headings,
            texts=[sentences for _, sentences in self.sections],
            trimmable=False,
            pace=pace,
        )


def _parse(script: dict[str, Any]) -> tuple[str | None, list[tuple[str, list[str]]]]:
    if not isinstance(script, dict) or not isinstance(script.get("sections"), list):
        raise MediaError("a given script must be an object with a list of sections")
    title = script.get("title")
    sections: list[tuple[str, list[str]]] = []
    for number, raw in enumerate(script["sections"], start=1):
        if not isinstance(raw, dict):
            raise MediaError(f"section {number} of the given script is not an object")
        name = raw.get("title") or raw.get("heading") or ""
        sentences = raw.get("sentences")
        if not isinstance(name, str) or not isinstance(sentences, list):
            raise MediaError(f"section {number} of the given script needs a title and a list of sentences")
        cleaned = [" ".join(s.split()) for s in sentences if isinstance(s, str) and s.strip()]
        if cleaned:
            sections.append((" ".join(name.split()), cleaned))
    if not sections:
        raise MediaError("the given script has no sentences to narrate")
    return (title if isinstance(title, str) and title.strip() else None), sections
