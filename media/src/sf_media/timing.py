"""Where each sentence sits on the video's timeline, from sentence durations alone (pure arithmetic).

The same rule places the writer's estimated durations and, after text-to-speech, the real ones, so
planned and final timings never disagree about pauses. Sentences that do not fit are dropped from the
end: a short must stay under a minute and a sleepy video lasts exactly what was asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sf_media.formats import FormatSpec

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Placement:
    """Start/end seconds per kept sentence, grouped by section (trailing sentences may be cut)."""

    spans: tuple[tuple[Span, ...], ...]
    duration: float

    @property
    def kept(self) -> int:
        return sum(len(section) for section in self.spans)


def margins(spec: FormatSpec, length_seconds: float) -> tuple[float, float]:
    """Lead-in and tail, shrunk for very short videos so a 5-second test still has room to speak."""
    return min(spec.lead_in_seconds, 0.1 * length_seconds), min(spec.tail_seconds, 0.1 * length_seconds)


def narration_span(spec: FormatSpec, length_seconds: float) -> float:
    """Seconds available for narration between lead-in and tail (sleepy caps it; the bed goes on)."""
    lead, tail = margins(spec, length_seconds)
    return max(0.0, min(length_seconds - lead - tail, spec.narration_span_max_seconds))


def place(durations: Sequence[Sequence[float]], spec: FormatSpec, length_seconds: float) -> Placement:
    """Place sentences (durations per section) on the timeline of a `length_seconds` video."""
    if spec.speech_fraction < 1.0:
        return _spread(durations, spec, length_seconds)
    return _sequential(durations, spec, length_seconds)


def _sequential(durations: Sequence[Sequence[float]], spec: FormatSpec, length_seconds: float) -> Placement:
    """Talk continuously with fixed pauses; the video ends a tail after the last sentence."""
    lead, tail = margins(spec, length_seconds)
    cursor = lead
    spans: list[tuple[Span, ...]] = []
    full = False
    for section in durations:
        kept: list[Span] = []
        for index, seconds in enumerate(section):
            start = cursor
            if spans or kept:
                start += spec.section_gap_seconds if index == 0 else spec.sentence_gap_seconds
            if start + seconds + tail > spec.max_seconds:
                full = True
                break
            kept.append((start, start + seconds))
            cursor = start + seconds
        spans.append(tuple(kept))  # empty sections keep their slot, so spans align with sections
        if full:
            break
    return Placement(spans=tuple(spans), duration=cursor + tail)


def _spread(durations: Sequence[Sequence[float]], spec: FormatSpec, length_seconds: float) -> Placement:
    """Spread sentences evenly over the narration span with long pauses; the length is fixed."""
    lead, _ = margins(spec, length_seconds)
    span = narration_span(spec, length_seconds)
    flat = [(s, i == 0) for section in durations for i, s in enumerate(section)]
    # Minimum pause before each sentence after the first: longer at a section boundary.
    gaps = [0.0] + [spec.section_gap_seconds if first else spec.sentence_gap_seconds for _, first in flat[1:]]
    kept = 0
    used = 0.0
    for (seconds, _), gap in zip(flat, gaps, strict=True):
        if used + gap + seconds > span:
            break
        used += gap + seconds
        kept += 1
    total_gap = sum(gaps[:kept])
    stretch = (span - used) / total_gap + 1.0 if total_gap > 0 else 1.0
    starts: list[float] = []
    cursor = lead
    for index in range(kept):
        cursor += gaps[index] * stretch
        starts.append(cursor)
        cursor += flat[index][0]
    spans: list[tuple[Span, ...]] = []
    position = 0
    for section in durations:
        take = max(0, min(len(section), kept - position))
        spans.append(tuple((starts[position + k], starts[position + k] + section[k]) for k in range(take)))
        position += take
    return Placement(spans=tuple(spans), duration=float(length_seconds))
