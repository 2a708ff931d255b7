import math
from pathlib import Path

import numpy as np
import pytest
from sf_media import AmbientBed, Cue, Soundtrack, ToneSpeaker, block_powers, integrated_loudness
from sf_media.mix import soft_limit
from sf_media.wavio import read_wav

RATE = 44_100


def _sine(hz: float, amplitude: float, seconds: float, rate: int = 48_000) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * math.pi * hz * t)


@pytest.mark.parametrize(("amplitude", "expected"), [(1.0, -3.01), (0.1, -23.01)])
def test_loudness_meter_reads_the_standards_reference_sine(amplitude: float, expected: float) -> None:
    # BS.1770: a 997 Hz sine at full scale in one channel reads -3.01 LUFS.
    assert integrated_loudness(block_powers(_sine(997, amplitude, 5.0)[None], 48_000)) == pytest.approx(
        expected, abs=0.1
    )


def test_silence_has_no_loudness() -> None:
    assert integrated_loudness(block_powers(np.zeros((2, RATE)), RATE)) == -math.inf


def test_the_bed_is_the_same_whatever_the_chunk_size() -> None:
    bed = AmbientBed(RATE, -30.0, seed=3)

    whole = np.concatenate(list(bed.chunks(3 * RATE, 3 * RATE)), axis=1)
    pieces = np.concatenate(list(bed.chunks(3 * RATE, 12_345)), axis=1)

    assert whole.shape == pieces.shape == (2, 3 * RATE)
    np.testing.assert_allclose(whole, pieces, atol=1e-5)


def test_the_bed_is_levelled_to_its_target_loudness() -> None:
    bed = AmbientBed(RATE, -30.0)

    audio = np.concatenate(list(bed.chunks(30 * RATE, RATE)), axis=1)

    assert integrated_loudness(block_powers(audio, RATE)) == pytest.approx(-30.0, abs=1.0)
    assert np.abs(audio).max() < 0.5


def test_tone_speech_lasts_as_long_as_its_words_and_is_repeatable(tmp_path: Path) -> None:
    speaker = ToneSpeaker(words_per_second=2.5)

    seconds = speaker.speak("one two three four five", tmp_path / "a.wav")
    speaker.speak("one two three four five", tmp_path / "b.wav")

    assert seconds == pytest.approx(2.0, abs=0.01)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_a_sentence_plays_at_its_cue_time_levelled_to_the_target(tmp_path: Path) -> None:
    ToneSpeaker().speak("soft tones standing in for speech", tmp_path / "s.wav")
    soundtrack = Soundtrack(
        [Cue(1.0, tmp_path / "s.wav")], duration=5.0, sample_rate=RATE, narration_lufs=-16.0
    )

    mix = np.concatenate(list(soundtrack.chunks(4_000)), axis=1)

    assert mix.shape == (2, 5 * RATE)
    assert np.abs(mix[:, : RATE - 10]).max() == 0.0  # silent before the cue
    voice = read_wav(tmp_path / "s.wav", RATE)[None] * np.float32(soundtrack.narration_gain)
    np.testing.assert_allclose(mix[:1, RATE : RATE + 20_000], soft_limit(voice[:, :20_000]), atol=1e-4)
    measured = integrated_loudness(block_powers(mix, RATE))
    assert measured == pytest.approx(-16.0, abs=0.5)


def test_the_limiter_never_lets_a_peak_reach_full_scale() -> None:
    loud = np.linspace(-3.0, 3.0, 1001, dtype=np.float32)[None]

    limited = soft_limit(loud)

    assert np.abs(limited).max() < 0.91
    assert np.all(np.diff(limited[0]) >= 0)  # still monotonic: no fold-over distortion
    np.testing.assert_array_equal(limited[np.abs(loud) <= 0.7], loud[np.abs(loud) <= 0.7])
