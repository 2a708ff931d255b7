"""A streaming look-ahead true-peak limiter: the mix never swings above its ceiling between samples.

For every sample the limiter knows the gain that would bring the true peak there down to the
ceiling (`TruePeakMeter`). The applied gain is the minimum of those needs over a window that reaches
`hold` back and the attack/release length ahead, then smoothed by two moving averages (attack and
release). Because every averaged value is already at or below the need of each sample in reach, the
gain at a peak is never above what that peak needs: no overshoot, no clipping, and the gain moves in
smooth ramps that start before the peak (the output is delayed by `delay` samples to see it coming).

Below the ceiling the limiter is exact unity gain, and a chunk whose sample peak cannot reach the
ceiling skips the oversampling altogether, so quiet programmes (sleepy) cost almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from sf_media.truepeak import DELAY as METER_DELAY
from sf_media.truepeak import WORST_CASE_OVERSHOOT, TruePeakMeter

Stereo = npt.NDArray[np.float32]


def running_min(values: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    """out[i] = min(values[i : i + window]) for every full window (van Herk / Gil-Werman, O(n))."""
    n = values.size
    if n < window:
        return np.zeros(0)
    blocks = -(-n // window)
    padded = np.full(blocks * window, np.inf)
    padded[:n] = values
    grid = padded.reshape(blocks, window)
    prefix = np.minimum.accumulate(grid, axis=1).ravel()
    suffix = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    count = n - window + 1
    mins: npt.NDArray[np.float64] = np.minimum(suffix[:count], prefix[window - 1 : window - 1 + count])
    return mins


def moving_average(values: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    """out[i] = mean(values[i : i + window]) for every full window."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    means: npt.NDArray[np.float64] = (cumulative[window:] - cumulative[:-window]) / window
    return means


class TruePeakLimiter:
    """Keeps the true peak of a (2, n) stream at or below `ceiling` (linear), `delay` samples late."""

    def __init__(
        self,
        ceiling: float,
        sample_rate: int,
        *,
        attack_seconds: float = 0.002,
        release_seconds: float = 0.030,
        hold_seconds: float = 0.010,
        channels: int = 2,
    ) -> None:
        self.ceiling = ceiling
        self._attack = max(1, round(attack_seconds * sample_rate))
        self._release = max(1, round(release_seconds * sample_rate))
        self._hold = max(METER_DELAY, round(hold_seconds * sample_rate))
        # How far ahead the gain must look: both smoothing windows, plus the interpolation kernel's
        # reach so every sample that shapes a peak is turned down as far as that peak needs.
        self._ahead = self._attack + self._release - 2 + METER_DELAY
        self.delay = self._ahead + METER_DELAY + 1
        self._meter = TruePeakMeter(channels)
        self._last_peak = 0.0
        # Gain needed per sample, from (next output - reach back) onwards; "no reduction" before time 0.
        self._reach_back = self._hold + self._attack + self._release - 2
        # The meter's first outputs describe times from -METER_DELAY on; before that, silence.
        self._needs = np.ones(self._reach_back - METER_DELAY)
        self._pending = np.zeros((channels, 0), dtype=np.float32)
        self._received = 0
        self._emitted = 0
        self.reduced_samples = 0  # how many output samples were turned down (for reports and tests)

    def process(self, chunk: Stereo) -> Stereo:
        """Feed a chunk; get back every sample that can now be finished (delay samples fewer at first)."""
        self._pending = np.concatenate([self._pending, chunk.astype(np.float32, copy=False)], axis=1)
        self._received += chunk.shape[1]
        self._needs = np.concatenate([self._needs, self._need(chunk)])
        # Needs are known up to received - METER_DELAY; a sample is done once `ahead` of them follow it.
        ready = self._received - METER_DELAY - self._ahead - self._emitted
        if ready <= 0:
            return np.zeros((chunk.shape[0], 0), dtype=np.float32)
        span = self._needs[: self._reach_back + ready + self._ahead]
        if span.min() >= 1.0:
            gain = None
        else:
            floor = running_min(span, self._hold + self._ahead + 1)
            gain = moving_average(moving_average(floor, self._attack), self._release)[:ready]
            self.reduced_samples += int(np.count_nonzero(gain < 1.0))
        out = self._pending[:, :ready]
        if gain is not None:
            out = (out * gain.astype(np.float32)).astype(np.float32)
        self._pending = self._pending[:, ready:]
        self._needs = self._needs[ready:]
        self._emitted += ready
        return out

    def flush(self) -> Stereo:
        """The last `delay` samples: pushes silence through so the held-back tail comes out."""
        wanted = self._received - self._emitted
        channels = self._pending.shape[0]
        tail = self.process(np.zeros((channels, self.delay + 1), dtype=np.float32))
        self._received -= self.delay + 1  # the padding was never part of the stream
        return tail[:, :wanted]

    def _need(self, chunk: Stereo) -> npt.NDArray[np.float64]:
        """Gain each sample needs (1 = none), aligned to stream time (the meter lags METER_DELAY)."""
        n = chunk.shape[1]
        if n == 0:
            return np.zeros(0)
        # The first outputs of this chunk describe the end of the previous one: count it too.
        loudest = max(float(np.abs(chunk).max()), self._meter.history_peak())
        if loudest * WORST_CASE_OVERSHOOT < self.ceiling:
            self._meter.skip(chunk)
            envelope = np.zeros(n)
        else:
            envelope = self._meter.process(chunk)
        # Sample t's value depends on the interpolated points on both sides of it.
        both_sides = np.maximum(envelope, np.concatenate([[self._last_peak], envelope[:-1]]))
        self._last_peak = float(envelope[-1])
        needs: npt.NDArray[np.float64] = np.minimum(1.0, self.ceiling / np.maximum(both_sides, 1e-12))
        return needs


def limited(chunks: Iterator[Stereo], limiter: TruePeakLimiter, chunk_samples: int) -> Iterator[Stereo]:
    """The limiter's output cut back into `chunk_samples` pieces (the last may be shorter)."""
    buffered: list[Stereo] = []
    count = 0

    def pieces(final: bool) -> Iterator[Stereo]:
        nonlocal buffered, count
        while count >= chunk_samples or (final and count > 0):
            joined = np.concatenate(buffered, axis=1)
            take = min(chunk_samples, joined.shape[1])
            yield joined[:, :take]
            buffered, count = [joined[:, take:]], joined.shape[1] - take

    for chunk in chunks:
        out = limiter.process(chunk)
        buffered.append(out)
        count += out.shape[1]
        yield from pieces(final=False)
    tail = limiter.flush()
    buffered.append(tail)
    count += tail.shape[1]
    yield from pieces(final=True)
