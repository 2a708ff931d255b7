"""The music and ambience bed, made here from a seed (no downloaded tracks, so nothing to claim).

A bed is two loops played side by side: a noise layer (brown, pink or rain) and a pad of slow,
soft chords. Each loop is exactly periodic by construction, so it joins itself without a seam:

- noise is shaped in the frequency domain (random spectrum times a colour curve, then one inverse
  FFT of the loop's length), and an inverse FFT is periodic in its length;
- every pad partial is a whole number of cycles per loop (frequencies are nudged by at most
  1/96 Hz, far below hearing), and the chord crossfades wrap around the loop.

The two loops have different lengths (45 s and 48 s), so the sum only repeats after 12 minutes and
no repetition of the noise lines up with the same chord. Streaming a chunk is an indexed read from
the loops, so any length costs the same ~40 MB and about nothing per second; any chunk size gives
the same samples. Layers are levelled by their K-weighted power (the loudness meter's weighting),
so the bed lands on its loudness target exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from sf_media.loudness import from_lufs, periodic_power, weighted_squares

Stereo = npt.NDArray[np.float32]  # shape (2, n)

NOISE_LOOP_SECONDS = 45
PAD_LOOP_SECONDS = 48  # four chords of 12 s
_CHORDS_PER_LOOP = 4
_CROSSFADE_SECONDS = 5.0
_POWER_EXCERPT_SECONDS = 10


class BedStyle(StrEnum):
    """What a bed is made of; formats list the styles they may use and the seed picks one."""

    PAD = "pad"  # soft chords over a breath of pink noise: a light music bed for talking videos
    RAIN = "rain"  # rain over a low rumble, with a faint pad far behind
    BROWN = "brown"  # deep brown noise (a distant waterfall) with a faint pad
    PINK = "pink"  # softened pink noise (steady, airy) with a faint pad


@dataclass(frozen=True, slots=True)
class _Recipe:
    # Relative levels (dB of K-weighted power) of each layer; None leaves the layer out.
    brown_db: float | None = None
    pink_db: float | None = None
    rain_db: float | None = None
    pad_db: float | None = None


_RECIPES: dict[BedStyle, _Recipe] = {
    BedStyle.PAD: _Recipe(pink_db=-16.0, pad_db=0.0),
    BedStyle.RAIN: _Recipe(rain_db=0.0, brown_db=-6.0, pad_db=-12.0),
    BedStyle.BROWN: _Recipe(brown_db=0.0, pad_db=-10.0),
    BedStyle.PINK: _Recipe(pink_db=0.0, brown_db=-8.0, pad_db=-10.0),
}

# Chords as semitones above the key's root: a bass note, then four close voices. Neighbouring
# chords share notes, so the crossfades glide instead of jumping.
_I = (-12, 4, 7, 11, 14)
_IV = (-7, 4, 9, 12, 16)
_VI = (-3, 4, 9, 12, 16 - 2)
_V = (-5, 2, 7, 11, 14)
_III = (-8, 4, 7, 11, 16)
_PROGRESSIONS = (
    (_I, _VI, _IV, _V),
    (_I, _IV, _VI, _V),
    (_VI, _IV, _I, _V),
    (_I, _III, _IV, _IV),
)
_PARTIALS = ((1, 1.0), (2, 0.22), (3, 0.06))  # a soft, flute-like tone: mostly fundamental


class AmbientBed:
    """A stereo bed at `sample_rate`, levelled to `target_lufs`; `style` and `seed` pick its sound."""

    def __init__(
        self,
        sample_rate: int,
        target_lufs: float,
        *,
        seed: int = 7,
        style: BedStyle | str = BedStyle.PAD,
    ) -> None:
        self.sample_rate = sample_rate
        self.style = BedStyle(style)
        self.target_lufs = target_lufs
        recipe = _RECIPES[self.style]
        rng = np.random.default_rng(seed)
        n = NOISE_LOOP_SECONDS * sample_rate
        noise = np.zeros((2, n), dtype=np.float32)
        power = 0.0
        for level_db, make in (
            (recipe.brown_db, _brown),
            (recipe.pink_db, _pink),
            (recipe.rain_db, _rain),
        ):
            if level_db is not None:
                layer = make(rng, n, sample_rate)
                layer *= np.float32(_unit_gain(layer, sample_rate, level_db))
                noise += layer
                power += 10 ** (level_db / 10)
        self._pad: Stereo | None = None
        if recipe.pad_db is not None:
            pad, pad_power = _pad(rng, PAD_LOOP_SECONDS, sample_rate)
            gain = math.sqrt(10 ** (recipe.pad_db / 10) / pad_power)
            pad *= np.float32(gain)
            self._pad = pad
            power += 10 ** (recipe.pad_db / 10)
        # Both loops now sum to `power` (K-weighted, relative); one gain moves that to the target.
        self.gain = float(math.sqrt(from_lufs(target_lufs) / power))
        self._noise = noise * np.float32(self.gain)
        if self._pad is not None:
            self._pad *= np.float32(self.gain)

    @staticmethod
    def style_for(styles: Sequence[BedStyle | str], seed: int) -> BedStyle:
        """The seed's choice among a format's styles (stable: same job, same bed)."""
        return BedStyle(styles[seed % len(styles)])

    def chunks(self, total_samples: int, chunk_samples: int) -> Iterator[Stereo]:
        """The bed from its start, `chunk_samples` at a time (the last chunk may be shorter)."""
        for start in range(0, total_samples, chunk_samples):
            yield self.segment(start, min(chunk_samples, total_samples - start))

    def segment(self, start: int, count: int) -> Stereo:
        """`count` samples from sample `start` on: a wrapped read from each loop."""
        index = start + np.arange(count)
        out = np.take(self._noise, index, axis=1, mode="wrap")
        if self._pad is not None:
            out += np.take(self._pad, index, axis=1, mode="wrap")
        return out


def _unit_gain(layer: npt.NDArray[np.floating], sample_rate: int, level_db: float) -> float:
    """Gain that gives a noise layer a K-weighted power of 10^(level_db/10).

    Noise is steady, so ten seconds of it measure the whole loop to a tenth of a dB, at a fraction
    of the cost (and memory) of weighting all 45 s.
    """
    excerpt = layer[:, : _POWER_EXCERPT_SECONDS * sample_rate]
    return float(math.sqrt(10 ** (level_db / 10) / weighted_squares(excerpt, sample_rate).mean()))


def _coloured(
    rng: np.random.Generator, n: int, sample_rate: int, magnitude: npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """Two channels of periodic noise with this magnitude curve, partly shared so the image is wide
    but still centred (inter-channel correlation about 0.3)."""
    # Single precision throughout (numpy's FFT keeps float32 as float32): half the memory and time.
    size = magnitude.size
    shaped = magnitude.astype(np.float32)
    shared = _complex_normal(rng, size)
    out = np.empty((2, n), dtype=np.float32)
    for channel in range(2):
        spectrum = (np.float32(0.55) * shared + np.float32(0.84) * _complex_normal(rng, size)) * shaped
        out[channel] = np.fft.irfft(spectrum, n)
    return out


def _complex_normal(rng: np.random.Generator, size: int) -> npt.NDArray[np.complex64]:
    values = rng.standard_normal(2 * size, dtype=np.float32).view(np.complex64)
    return values


def _high_pass(f: npt.NDArray[np.float64], corner: float) -> npt.NDArray[np.float64]:
    r = (f / corner) ** 2
    return r / (1 + r)  # second order: no sub-bass rumble for small speakers to choke on


def _low_pass(f: npt.NDArray[np.float64], corner: float, order: int = 2) -> npt.NDArray[np.float64]:
    return 1 / np.sqrt(1 + (f / corner) ** (2 * order))


def _brown(rng: np.random.Generator, n: int, sample_rate: int) -> npt.NDArray[np.float32]:
    f = np.fft.rfftfreq(n, 1 / sample_rate).astype(np.float64)
    return _coloured(rng, n, sample_rate, _high_pass(f, 30.0) / np.maximum(f, 30.0) * _low_pass(f, 3000.0))


def _pink(rng: np.random.Generator, n: int, sample_rate: int) -> npt.NDArray[np.float32]:
    f = np.fft.rfftfreq(n, 1 / sample_rate).astype(np.float64)
    # Pink, with the top octaves rolled off: steady hiss is what makes pink noise tiring.
    return _coloured(
        rng, n, sample_rate, _high_pass(f, 40.0) / np.sqrt(np.maximum(f, 40.0)) * _low_pass(f, 4000.0)
    )


def _rain(rng: np.random.Generator, n: int, sample_rate: int) -> npt.NDArray[np.float32]:
    """Band-limited hiss whose level flickers quickly and unevenly: the patter of many drops."""
    f = np.fft.rfftfreq(n, 1 / sample_rate).astype(np.float64)
    hiss = _coloured(
        rng, n, sample_rate, _high_pass(f, 600.0) / np.sqrt(np.maximum(f, 600.0)) * _low_pass(f, 7000.0)
    )
    patter = _coloured(rng, n, sample_rate, _low_pass(f, 25.0, order=4))
    patter /= patter.std(axis=1, keepdims=True)
    hiss *= np.maximum(np.float32(0.15), 1 + np.float32(0.7) * patter) ** 2
    rain: npt.NDArray[np.float32] = hiss
    return rain


def _pad(
    rng: np.random.Generator, loop_seconds: int, sample_rate: int
) -> tuple[npt.NDArray[np.float32], float]:
    """Four slow chords, crossfaded with equal-power ramps, every partial periodic in the loop, and
    the loop's K-weighted power.

    Synthesised at a low rate (nothing in the pad reaches 1.5 kHz) and brought up to the sample rate
    by zero-padding its spectrum: exact for a periodic signal, and eight times less work.
    """
    factor = next(f for f in (8, 4, 2, 1) if sample_rate % f == 0)
    low = _pad_at(rng, loop_seconds, sample_rate // factor)
    n = loop_seconds * sample_rate
    # Band-limited interpolation keeps the mean square, so the low-rate loop gives the power too.
    power = periodic_power(low, sample_rate // factor)
    spectrum = np.fft.rfft(low, axis=1)
    full = np.empty((2, n), dtype=np.float32)
    for channel in range(2):
        full[channel] = np.fft.irfft(spectrum[channel], n) * factor
    return full, power


def _pad_at(rng: np.random.Generator, loop_seconds: int, rate: int) -> npt.NDArray[np.float64]:
    n = loop_seconds * rate
    slot = n // _CHORDS_PER_LOOP
    fade = round(_CROSSFADE_SECONDS * rate)
    root = 48 + int(rng.integers(0, 7))  # C3 .. F#3: warm, below the voice's busiest band
    progression = _PROGRESSIONS[int(rng.integers(0, len(_PROGRESSIONS)))]
    out = np.zeros((2, n))
    # Each chord sounds from half a fade before its slot to half a fade after it.
    support = slot + fade
    u = np.arange(support)
    envelope = np.ones(support)
    envelope[:fade] = np.sin(0.5 * math.pi * (u[:fade] + 0.5) / fade)
    envelope[-fade:] = envelope[:fade][::-1]
    for index, chord in enumerate(progression):
        first = index * slot - fade // 2
        t = (first + u) / rate
        for position, semitones in enumerate(chord):
            hz = 440.0 * 2 ** ((root + semitones - 69) / 12)
            level = (0.9 if position == 0 else 0.5) * float(rng.uniform(0.8, 1.0))
            # The right channel sits a few cycles per loop higher: a slow, wide chorus.
            for channel, detune in ((0, 0), (1, 3)):
                wave = np.zeros(support)
                for multiple, weight in _PARTIALS:
                    cycles = round(hz * multiple * loop_seconds) + detune
                    phase = float(rng.uniform(0, 2 * math.pi))
                    wave += weight * np.sin(2 * math.pi * cycles / loop_seconds * t + phase)
                out[channel, (first + u) % n] += level * envelope * wave
    # A slow breath: two swells per loop.
    t = np.arange(n) / rate
    breath: npt.NDArray[np.float64] = out * (0.8 + 0.2 * np.cos(2 * math.pi * 2 * t / loop_seconds))
    return breath
