"""Where each sentence sits on the video's timeline, from sentence durations alone (pure arithmetic).

The same rule places the writer's estimated durations and, after text-to-speech, the real ones, so
planned and final timings never disagree about pauses. A plan keeps every sentence; fitted to the
real speech, continuous talk lands on the requested length (pauses adjusted, surplus sentences
dropped, a short always under a minute) and a sleepy video lasts exactly what was asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sf_media.formats import FormatSpec

Span = tuple[float, float]


# Fitting a video to its length may shrink the pauses between sentences to this share of their
# nominal length, or stretch them up to the other; beyond that sentences go (or the tail grows).
MIN_GAP_FACTOR = 0.6
MAX_GAP_FACTOR = 3.0


@dataclass(frozen=True, slots=True)
class Placement:
    """Start/end seconds per kept sentence, grouped by section; `indices` says which sentences of
    each section were kept (all of them, or fewer when the video could not hold them)."""

    spans: tuple[tuple[Span, ...], ...]
    duration: float
    indices: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        if not self.indices:  # kept sentences are each section's first ones
            object.__setattr__(self, "indices", tuple(tuple(range(len(s))) for s in self.spans))

    @property
    def kept(self) -> int:
        return sum(len(section) for section in self.spans)


def paced(spec: FormatSpec, pace: float) -> FormatSpec:
    """The spec a writer plans with when the voice speaks `pace` times its natural rate."""
    return spec if pace == 1.0 else replace(spec, words_per_second=spec.words_per_second * pace)


def estimate_seconds(text: str, spec: FormatSpec) -> float:
    """Planned speaking time of a sentence at the format's speech rate."""
    return len(text.split()) / spec.words_per_second


def margins(spec: FormatSpec, length_seconds: float) -> tuple[float, float]:
    """Lead-in and tail, shrunk for very short videos so a 5-second test still has room to speak."""
    return min(spec.lead_in_seconds, 0.1 * length_seconds), min(spec.tail_seconds, 0.1 * length_seconds)


def narration_span(spec: FormatSpec, length_seconds: float) -> float:
    """Seconds available for narration between lead-in and tail (sleepy caps it; the bed goes on)."""
    lead, tail = margins(spec, length_seconds)
    return max(0.0, min(length_seconds - lead - tail, spec.narration_span_max_seconds))


def place(
    durations: Sequence[Sequence[float]],
    spec: FormatSpec,
    length_seconds: float,
    *,
    fit: bool = False,
    trimmable: bool = True,
) -> Placement:
    """Place sentences (durations per section) on the timeline of a `length_seconds` video.

    With `fit` (the real speech durations are known), continuous talk lands on the length: pauses
    shrink or stretch within bounds and, if `trimmable`, sentences that do not fit are dropped
    (never the first or last of the video, nor a section's only one); any time still missing
    lengthens the tail. Sleepy videos always last exactly `length_seconds`.
    """
    if spec.speech_fraction < 1.0:
        return _spread(durations, spec, length_seconds)
    if fit:
        return _fitted(durations, spec, length_seconds, trimmable)
    return _sequential(durations, spec, length_seconds)


def _fitted(
    durations: Sequence[Sequence[float]], spec: FormatSpec, length_seconds: float, trimmable: bool
) -> Placement:
    target = min(float(length_seconds), spec.max_seconds)
    lead, tail = margins(spec, length_seconds)
    kept = [list(range(len(section))) for section in durations]

    def speech() -> float:
        return sum(durations[s][i] for s, section in enumerate(kept) for i in section)

    def gaps() -> float:
        flat = [(s, n) for s, section in enumerate(kept) for n, _ in enumerate(section)]
        return sum(spec.section_gap_seconds if n == 0 else spec.sentence_gap_seconds for s, n in flat[1:])

    def total(factor: float) -> float:
        return lead + speech() + factor * gaps() + tail

    # Shorts are cut at the platform's limit whoever wrote them; otherwise only trimmable scripts.
    while (trimmable and total(MIN_GAP_FACTOR) > target) or total(MIN_GAP_FACTOR) > spec.max_seconds:
        if not _drop_one(kept):
            break
    nominal = gaps()
    room = target - lead - speech() - tail
    factor = min(max(room / nominal, MIN_GAP_FACTOR), MAX_GAP_FACTOR) if nominal > 0 else 1.0
    extra_tail = max(0.0, room - factor * nominal)
    cursor = lead
    spans: list[tuple[Span, ...]] = []
    first = True
    for s, section in enumerate(kept):
        placed: list[Span] = []
        for n, index in enumerate(section):
            if not first:
                cursor += factor * (spec.section_gap_seconds if n == 0 else spec.sentence_gap_seconds)
            first = False
            placed.append((cursor, cursor + durations[s][index]))
            cursor += durations[s][index]
        spans.append(tuple(placed))
    duration = cursor + tail + extra_tail
    if abs(duration - target) < 1e-6:
        duration = target  # landed: no float drift past a short's limit
    return Placement(spans=tuple(spans), duration=duration, indices=tuple(tuple(k) for k in kept))


def _drop_one(kept: list[list[int]]) -> bool:
    """Drop the sentence the video misses least; False when only the opening sentence is left.

    First a sentence from the section with most of them (the later one on a tie), keeping every
    section's first sentence and the video's last (the outro); then a middle section's only
    sentence; then the outro itself. The video's first sentence (the hook) always stays.
    """
    filled = [s for s, section in enumerate(kept) if section]
    first, last = filled[0], filled[-1]
    best: int | None = None
    for s in filled:
        spare = len(kept[s]) - (2 if s == last else 1)
        if spare > 0 and (best is None or len(kept[s]) >= len(kept[best])):
            best = s
    if best is not None:
        kept[best].pop(-2 if best == last else -1)
        return True
    middle = [s for s in filled if s not in {first, last}]
    if middle:
        kept[middle[-1]].pop()
        return True
    if sum(len(section) for section in kept) > 1:
        kept[last].pop()
        return True
    return False


def _sequential(durations: Sequence[Sequence[float]], spec: FormatSpec, length_seconds: float) -> Placement:
    """A plan: talk continuously with nominal pauses, every sentence kept (a plan runs long on
    purpose; `_fitted` later cuts it to the length and to the format's limit)."""
    lead, tail = margins(spec, length_seconds)
    cursor = lead
    spans: list[tuple[Span, ...]] = []
    for section in durations:
        kept: list[Span] = []
        for index, seconds in enumerate(section):
            start = cursor
            if spans or kept:
                start += spec.section_gap_seconds if index == 0 else spec.sentence_gap_seconds
            kept.append((start, start + seconds))
            cursor = start + seconds
        spans.append(tuple(kept))
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
