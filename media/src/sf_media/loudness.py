"""Integrated loudness (ITU-R BS.1770-4, LUFS) in numpy alone, to set narration and bed levels.

BS.1770 weights the signal with two biquads (the "K" curve) before measuring energy in gated 400 ms
blocks. We apply the biquads' frequency response with an FFT instead of running the IIR sample by
sample (numpy has no lfilter and scipy is a 40 MB dependency for two filters): for the short speech
clips and calibration snippets measured here, zero-padding makes the circular effects negligible. A
test checks the reference value of the standard (a 997 Hz full-scale sine reads -3.01 LUFS).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

BLOCK_SECONDS = 0.4
HOP_SECONDS = 0.1
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0

Array = npt.NDArray[np.floating]


def _biquad_response(
    b: tuple[float, float, float], a: tuple[float, float, float], z: npt.NDArray[np.complex128]
) -> npt.NDArray[np.complex128]:
    zi = 1.0 / z
    return (b[0] + b[1] * zi + b[2] * zi * zi) / (a[0] + a[1] * zi + a[2] * zi * zi)


Biquad = tuple[tuple[float, float, float], tuple[float, float, float]]  # (b, a)


def _k_filters(sample_rate: int) -> tuple[Biquad, Biquad]:
    """The standard's two K-weighting biquads: a high shelf (+4 dB above ~1.5 kHz) and a high pass."""
    # High shelf (RBJ form with the standard's parameters, valid at any sample rate).
    gain_db, fc, q = 4.0, 1500.0, 1 / math.sqrt(2)
    big_a = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * fc / sample_rate
    alpha = math.sin(w0) / (2 * q)
    cos0, root = math.cos(w0), 2 * math.sqrt(big_a) * alpha
    shelf: Biquad = (
        (
            big_a * ((big_a + 1) + (big_a - 1) * cos0 + root),
            -2 * big_a * ((big_a - 1) + (big_a + 1) * cos0),
            big_a * ((big_a + 1) + (big_a - 1) * cos0 - root),
        ),
        (
            (big_a + 1) - (big_a - 1) * cos0 + root,
            2 * ((big_a - 1) - (big_a + 1) * cos0),
            (big_a + 1) - (big_a - 1) * cos0 - root,
        ),
    )
    fc, q = 38.0, 0.5
    w0 = 2 * math.pi * fc / sample_rate
    alpha, cos0 = math.sin(w0) / (2 * q), math.cos(w0)
    high_pass: Biquad = (((1 + cos0) / 2, -(1 + cos0), (1 + cos0) / 2), (1 + alpha, -2 * cos0, 1 - alpha))
    return shelf, high_pass


@functools.lru_cache(maxsize=4)  # sentences share FFT sizes; the response is the slow part
def _k_weighting(n_fft: int, sample_rate: int) -> npt.NDArray[np.complex128]:
    """K-weighting's complex response at the rfft bins of an `n_fft`-point transform."""
    z = np.exp(1j * 2 * math.pi * np.arange(n_fft // 2 + 1) / n_fft)
    shelf, high_pass = _k_filters(sample_rate)
    response = _biquad_response(*shelf, z) * _biquad_response(*high_pass, z)
    response.flags.writeable = False  # shared through the cache
    return response


def _k_power_response(n: int, sample_rate: int) -> npt.NDArray[np.float64]:
    """|K|^2 at the rfft bins, in real arithmetic (a quarter of the cost of the complex response)."""
    w = 2 * math.pi * np.arange(n // 2 + 1) / n
    cos1, cos2 = np.cos(w), np.cos(2 * w)

    def power(c: tuple[float, float, float]) -> npt.NDArray[np.float64]:
        squared: npt.NDArray[np.float64] = (
            c[0] ** 2
            + c[1] ** 2
            + c[2] ** 2
            + 2 * (c[0] * c[1] + c[1] * c[2]) * cos1
            + 2 * c[0] * c[2] * cos2
        )
        return squared

    response = np.ones(w.size)
    for b, a in _k_filters(sample_rate):
        response *= power(b) / power(a)
    return response


def weighted_squares(channels: Array, sample_rate: int) -> npt.NDArray[np.float64]:
    """Per sample, the K-weighted squares summed over channels (`channels` is (n_channels, n))."""
    data = np.atleast_2d(np.asarray(channels, dtype=np.float64))
    n = data.shape[1]
    if n == 0:
        return np.zeros(0)
    pad = sample_rate // 2  # the high pass rings for a few ms; half a second of padding is ample
    n_fft = 1 << (n + pad - 1).bit_length()
    weighted = np.fft.irfft(
        np.fft.rfft(data, n_fft, axis=1) * _k_weighting(n_fft, sample_rate), n_fft, axis=1
    )[:, :n]
    squares: npt.NDArray[np.float64] = (weighted**2).sum(axis=0)
    return squares


def block_powers(channels: Array, sample_rate: int) -> list[float]:
    """Mean-square K-weighted power of each 400 ms block (75% overlap), summed over channels.

    `channels` is (n_channels, n_samples). A clip shorter than one block counts as one block.
    """
    return block_powers_from_squares(weighted_squares(channels, sample_rate), sample_rate)


def block_powers_from_squares(squares: npt.NDArray[np.float64], sample_rate: int) -> list[float]:
    """`block_powers` from already weighted squares (see `weighted_squares`)."""
    n = squares.size
    if n == 0:
        return []
    block, hop = round(BLOCK_SECONDS * sample_rate), round(HOP_SECONDS * sample_rate)
    if n <= block:
        return [float(squares.mean())]
    cumulative = np.concatenate([[0.0], np.cumsum(squares)])
    starts = np.arange(0, n - block + 1, hop)
    return [float(p) for p in (cumulative[starts + block] - cumulative[starts]) / block]


def periodic_power(channels: Array, sample_rate: int) -> float:
    """K-weighted mean-square power, summed over channels, of a loop that repeats with its length.

    Computed in the frequency domain over exactly one period (Parseval), so it is exact for a
    periodic signal and needs no padding; for steady beds it equals the (ungated) loudness.
    """
    data = np.atleast_2d(np.asarray(channels, dtype=np.float64))
    n = data.shape[1]
    response = _k_power_response(n, sample_rate)
    weights = np.full(response.size, 2.0)  # each rfft bin stands for itself and its mirror...
    weights[0] = 1.0  # ...except DC
    if n % 2 == 0:
        weights[-1] = 1.0  # ...and Nyquist
    total = sum(float((np.abs(np.fft.rfft(channel)) ** 2 * response * weights).sum()) for channel in data)
    return float(total / n**2)


def from_lufs(lufs: float) -> float:
    """The K-weighted mean-square power that reads `lufs`."""
    return float(10 ** ((lufs + 0.691) / 10))


def to_lufs(power: float) -> float:
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


def integrated_loudness(powers: Iterable[float]) -> float:
    """Gated integrated loudness of a set of block powers (absolute -70 LUFS, relative -10 LU)."""
    blocks = np.fromiter(powers, dtype=np.float64)
    if blocks.size == 0:
        return -math.inf
    loud = blocks[blocks > 10 ** ((ABSOLUTE_GATE_LUFS + 0.691) / 10)]
    if loud.size == 0:
        return -math.inf
    relative_gate = to_lufs(float(loud.mean())) + RELATIVE_GATE_LU
    gated = loud[loud > 10 ** ((relative_gate + 0.691) / 10)]
    return to_lufs(float(gated.mean()))


def gain_to(measured_lufs: float, target_lufs: float) -> float:
    """Linear gain that moves a measured loudness to the target (1.0 for silence)."""
    if not math.isfinite(measured_lufs):
        return 1.0
    return float(10 ** ((target_lufs - measured_lufs) / 20))
