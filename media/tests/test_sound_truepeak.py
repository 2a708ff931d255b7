import math
from pathlib import Path

import numpy as np
import pytest
from sf_media.limiter import TruePeakLimiter, limited
from sf_media.measure import measure_audio
from sf_media.truepeak import TruePeakMeter, from_db, to_dbtp, true_peak

RATE = 48_000


def _sine(hz: float, amplitude: float, seconds: float, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * math.pi * hz * t + phase)


def _steady_peak(signal: np.ndarray) -> float:
    """The meter's reading away from the signal's abrupt start and end (they ring, as they should)."""
    envelope = TruePeakMeter(signal.shape[0]).process(signal)
    return to_dbtp(float(envelope[RATE // 4 : -RATE // 4].max()))


def test_a_quarter_rate_sine_between_its_samples_reads_its_true_peak() -> None:
    # fs/4 at 45 degrees: every sample sits at +-0.707, 3 dB under the waveform's crest.
    sine = _sine(RATE / 4, 1.0, 1.0, phase=math.pi / 4)[None]

    assert to_dbtp(float(np.abs(sine).max())) == pytest.approx(-3.01, abs=0.01)
    assert _steady_peak(sine) == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize(
    ("hz", "amplitude"), [(997.0, 1.0), (6_000.0, 0.5), (15_000.0, 0.25), (19_000.0, 0.8)]
)
def test_sines_across_the_band_read_their_amplitude(hz: float, amplitude: float) -> None:
    sine = _sine(hz, amplitude, 1.0, phase=0.3)[None]

    assert _steady_peak(sine) == pytest.approx(to_dbtp(amplitude), abs=0.1)


def test_true_peak_is_never_below_the_sample_peak_and_agrees_with_ffmpeg(tmp_path: Path) -> None:
    import av

    rng = np.random.default_rng(4)
    noise = (0.3 * rng.standard_normal((2, 2 * RATE))).astype(np.float32)
    path = tmp_path / "noise.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_f32le", rate=RATE, layout="stereo")
        frame = av.AudioFrame.from_ndarray(noise, format="fltp", layout="stereo")
        frame.sample_rate = RATE
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    ours = true_peak(noise)

    assert ours >= float(np.abs(noise).max())
    assert to_dbtp(ours) == pytest.approx(measure_audio(path).true_peak_dbtp, abs=0.2)


def test_the_meter_gives_the_same_envelope_however_the_stream_is_cut() -> None:
    signal = np.random.default_rng(1).standard_normal((2, 30_000))

    whole = TruePeakMeter().process(signal)
    meter = TruePeakMeter()
    pieces = np.concatenate([meter.process(signal[:, i : i + 777]) for i in range(0, 30_000, 777)])

    np.testing.assert_allclose(whole, pieces, atol=1e-12)


def _hot_programme() -> np.ndarray:
    """+10 dBTP: a swelling sine in one ear, noise bursts in the other, and a quiet stretch."""
    t = np.arange(6 * RATE) / RATE
    rng = np.random.default_rng(3)
    hot = np.stack([np.sin(2 * math.pi * 440 * t) * (1 + np.sin(t)), rng.standard_normal(t.size) * 0.8])
    hot[:, 2 * RATE : 3 * RATE] *= 0.01
    return hot.astype(np.float32) * 1.6


def _limit(signal: np.ndarray, ceiling_dbtp: float, chunk: int) -> tuple[np.ndarray, TruePeakLimiter]:
    limiter = TruePeakLimiter(from_db(ceiling_dbtp), RATE)
    pieces = iter([signal[:, i : i + chunk] for i in range(0, signal.shape[1], chunk)])
    return np.concatenate(list(limited(pieces, limiter, RATE)), axis=1), limiter


def test_the_limiter_holds_a_hot_programme_under_its_ceiling_between_samples() -> None:
    hot = _hot_programme()
    assert to_dbtp(true_peak(hot)) > 8.0

    out, limiter = _limit(hot, -1.5, RATE)

    assert out.shape == hot.shape
    assert to_dbtp(true_peak(out)) <= -1.5 + 0.01
    assert limiter.reduced_samples > 0
    # The quiet stretch far from any peak passes untouched (only the ramps around it move).
    quiet = slice(2 * RATE + RATE // 4, 3 * RATE - RATE // 4)
    np.testing.assert_array_equal(out[:, quiet], hot[:, quiet])


def test_the_limiter_leaves_a_programme_under_its_ceiling_bit_exact() -> None:
    calm = _hot_programme() * np.float32(0.05)

    out, limiter = _limit(calm, -1.0, 10_000)

    np.testing.assert_array_equal(out, calm)
    assert limiter.reduced_samples == 0


def test_the_limiter_output_does_not_depend_on_the_chunk_size() -> None:
    hot = _hot_programme()

    a, _ = _limit(hot, -2.0, RATE)
    b, _ = _limit(hot, -2.0, 4_410)

    np.testing.assert_allclose(a, b, atol=1e-6)


def test_the_limiter_ramps_instead_of_jumping() -> None:
    # A single loud click in silence: the gain must glide down before it and back up after it.
    click = np.zeros((2, RATE), dtype=np.float32)
    click[:, RATE // 2] = 4.0
    steady = np.full((2, RATE), 0.5, dtype=np.float32) + click

    out, _ = _limit(steady, -1.0, RATE)

    gain = out[0] / steady[0]
    assert float(gain.min()) == pytest.approx(from_db(-1.0) / 4.5, rel=0.05)
    assert float(np.abs(np.diff(gain)).max()) < 0.01  # no step: about 3 ms to get there
