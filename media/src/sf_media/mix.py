"""The soundtrack as a stream: spoken sentences placed on the timeline, over the ambient bed.

Nothing longer than one chunk plus the sentences currently playing is ever in memory, so a ten-hour
sleepy mix costs the same memory as a five-second short. The narration is levelled as a whole (one
gain from its gated BS.1770 loudness, so quiet and loud sentences keep their natural difference), and
a soft limiter keeps rare peaks from clipping after AAC encoding.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sf_media.ambient import AmbientBed, Stereo
from sf_media.loudness import block_powers, gain_to, integrated_loudness
from sf_media.wavio import Samples, read_wav

# Soft knee from 0.7 up to a ceiling of 0.9 (-0.9 dBFS): AAC overshoots peaks by up to ~0.5 dB on decode,
# so the ceiling leaves it room.
_KNEE = 0.7
_CEILING = 0.9


@dataclass(frozen=True, slots=True)
class Cue:
    """One sentence's audio file and when it starts, in seconds from the start of the video."""

    start: float
    path: Path


class Soundtrack:
    """Narration cues over an optional ambient bed, rendered chunk by chunk."""

    def __init__(
        self,
        cues: Sequence[Cue],
        *,
        duration: float,
        sample_rate: int,
        narration_lufs: float,
        bed: AmbientBed | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.total_samples = round(duration * sample_rate)
        self._cues = sorted(cues, key=lambda cue: cue.start)
        self._bed = bed
        self.narration_loudness = self._measure()
        self.narration_gain = gain_to(self.narration_loudness, narration_lufs)

    def _measure(self) -> float:
        """Loudness of all sentences as heard (dual mono in two channels, hence the stack)."""
        powers: list[float] = []
        for cue in self._cues:
            mono = read_wav(cue.path, self.sample_rate)
            powers += block_powers(np.stack([mono, mono]), self.sample_rate)
        return integrated_loudness(powers)

    def chunks(self, chunk_samples: int) -> Iterator[Stereo]:
        """The finished mix, (2, n) float32 chunks, `total_samples` in all."""
        beds = self._bed.chunks(self.total_samples, chunk_samples) if self._bed else None
        playing: list[tuple[int, Samples]] = []  # (start sample, levelled audio)
        upcoming = iter(self._cues)
        pending = next(upcoming, None)
        for start in range(0, self.total_samples, chunk_samples):
            end = min(start + chunk_samples, self.total_samples)
            while pending is not None and round(pending.start * self.sample_rate) < end:
                audio = read_wav(pending.path, self.sample_rate) * np.float32(self.narration_gain)
                playing.append((round(pending.start * self.sample_rate), audio))
                pending = next(upcoming, None)
            voice = np.zeros(end - start, dtype=np.float32)
            for cue_start, audio in playing:
                lo, hi = max(start, cue_start), min(end, cue_start + len(audio))
                if lo < hi:
                    voice[lo - start : hi - start] += audio[lo - cue_start : hi - cue_start]
            playing = [(s, a) for s, a in playing if s + len(a) > end]
            mix = np.stack([voice, voice])
            if beds is not None:
                mix += next(beds)
            yield soft_limit(mix)


def soft_limit(mix: npt.NDArray[np.float32]) -> Stereo:
    """Identity below the knee, then a tanh curve that approaches but never reaches the ceiling."""
    over = np.abs(mix) > _KNEE
    if not over.any():
        return mix.astype(np.float32, copy=False)
    room = _CEILING - _KNEE
    shaped = np.sign(mix) * (_KNEE + room * np.tanh((np.abs(mix) - _KNEE) / room))
    return np.where(over, shaped, mix).astype(np.float32)


def rms_dbfs(samples: npt.NDArray[np.floating]) -> float:
    """Root-mean-square level in dBFS (a quick "is anything audible" check for tests and reports)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf
