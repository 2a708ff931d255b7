"""A calm ambient bed, generated in chunks so a ten-hour bed never sits in memory.

Layers, all from a seeded numpy generator: deep brown noise (a leaky integrator of white noise, one
independent stream per ear so it sounds wide), a softer low-passed "air" layer, a slow 11-second swell
like distant surf, and a quiet drone of low sine partials. Chunks depend only on the seed and the
sample position, not on how the stream is cut, so any chunk size yields the same audio.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from sf_media.loudness import block_powers, gain_to, integrated_loudness

Stereo = npt.NDArray[np.float32]  # shape (2, n)

_RUMBLE_HZ = 60.0
_AIR_HZ = 700.0
_SWELL_SECONDS = 11.0
_DRONE = ((55.0, 0.030), (82.41, 0.020), (110.0, 0.012), (164.81, 0.006))  # A1, E2, A2, E3
_CALIBRATION_SECONDS = 22.0  # two swells: enough for a stable loudness reading


class AmbientBed:
    """A stereo bed at `sample_rate`, levelled to `target_lufs`."""

    def __init__(self, sample_rate: int, target_lufs: float, *, seed: int = 7) -> None:
        self.sample_rate = sample_rate
        self._seed = seed
        probe = next(_Generator(sample_rate, seed).chunks(round(_CALIBRATION_SECONDS * sample_rate)))
        self.gain = gain_to(integrated_loudness(block_powers(probe, sample_rate)), target_lufs)

    def chunks(self, total_samples: int, chunk_samples: int) -> Iterator[Stereo]:
        """The bed from its start, `chunk_samples` at a time (the last chunk may be shorter)."""
        generator = _Generator(self.sample_rate, self._seed)
        for chunk in generator.chunks(chunk_samples, total_samples):
            yield (chunk * self.gain).astype(np.float32)


class _Generator:
    """The unlevelled bed; keeps the filter states and sample position between chunks."""

    def __init__(self, sample_rate: int, seed: int) -> None:
        self._rate = sample_rate
        self._rng = np.random.default_rng(seed)
        self._rumble = _Leaky(math.exp(-2 * math.pi * _RUMBLE_HZ / sample_rate))
        self._air = _Leaky(math.exp(-2 * math.pi * _AIR_HZ / sample_rate))
        self._position = 0

    def chunks(
        self, chunk_samples: int, total_samples: int | None = None
    ) -> Iterator[npt.NDArray[np.float64]]:
        remaining = total_samples if total_samples is not None else chunk_samples
        while remaining > 0:
            n = min(chunk_samples, remaining)
            remaining -= n
            yield self._next(n)

    def _next(self, n: int) -> npt.NDArray[np.float64]:
        # Drawn as (n, 2) and transposed: consecutive draws then concatenate to the same stream
        # whatever the chunk sizes, which keeps the bed independent of how it is cut.
        white = self._rng.standard_normal((n, 2)).T
        rumble = self._rumble.run(white) * (1 - self._rumble.a) * 6.0
        air = self._air.run(white[::-1]) * (1 - self._air.a) * 0.35
        t = (self._position + np.arange(n)) / self._rate
        swell = 0.55 + 0.45 * np.sin(2 * math.pi * t / _SWELL_SECONDS) ** 2
        drone_shape = 0.7 + 0.3 * np.sin(2 * math.pi * t / 47.0)
        drone = sum(level * np.sin(2 * math.pi * hz * t) for hz, level in _DRONE) * drone_shape
        self._position += n
        return (rumble + air) * swell + drone


class _Leaky:
    """y[n] = a*y[n-1] + x[n] per channel, vectorised in sub-blocks.

    Within a sub-block y[n] = a^n * (a*y[-1] + sum_k x[k] a^-k); the sub-block is kept short enough
    that a^-k stays well inside float64 range.
    """

    def __init__(self, a: float) -> None:
        self.a = a
        self._state = np.zeros(2)
        self._block = max(16, min(4096, int(20 / -math.log(a))))  # a^-block <= e^20

    def run(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out = np.empty_like(x)
        powers = self.a ** np.arange(self._block)
        for start in range(0, x.shape[1], self._block):
            piece = x[:, start : start + self._block]
            p = powers[: piece.shape[1]]
            y = p * (self.a * self._state[:, None] + np.cumsum(piece / p, axis=1))
            out[:, start : start + piece.shape[1]] = y
            self._state = y[:, -1].copy()
        return out
