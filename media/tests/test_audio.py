import math
from pathlib import Path

import numpy as np
import pytest
from sf_media import Cue, Soundtrack, ToneSpeaker, block_powers, integrated_loudness
from sf_media.mix import MixSettings
from sf_media.wavio import read_wav

RATE = 48_000


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


def test_tone_speech_lasts_as_long_as_its_words_and_is_repeatable(tmp_path: Path) -> None:
    speaker = ToneSpeaker(words_per_second=2.5)

    seconds = speaker.speak("one two three four five", tmp_path / "a.wav")
    speaker.speak("one two three four five", tmp_path / "b.wav")

    assert seconds == pytest.approx(2.0, abs=0.01)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_a_sentence_plays_at_its_cue_time_levelled_to_the_target(tmp_path: Path) -> None:
    ToneSpeaker().speak("soft tones standing in for speech", tmp_path / "s.wav")
    soundtrack = Soundtrack(
        [Cue(1.0, tmp_path / "s.wav")],
        duration=5.0,
        sample_rate=RATE,
        settings=MixSettings(target_lufs=-16.0),
    )

    mix = np.concatenate(list(soundtrack.chunks(4_000)), axis=1)

    assert mix.shape == (2, 5 * RATE)
    assert np.abs(mix[:, : RATE - 10]).max() == 0.0  # silent before the cue
    voice = read_wav(tmp_path / "s.wav", RATE)[None] * np.float32(soundtrack.narration_gain)
    np.testing.assert_allclose(mix[:1, RATE : RATE + 20_000], voice[:, :20_000], atol=1e-4)
    measured = integrated_loudness(block_powers(mix, RATE))
    assert measured == pytest.approx(-16.0, abs=0.5)
