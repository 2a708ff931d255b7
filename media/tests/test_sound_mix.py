import math
from pathlib import Path

import numpy as np
import pytest
from sf_media.ambient import AmbientBed, BedStyle
from sf_media.loudness import block_powers, integrated_loudness
from sf_media.mix import Cue, MixSettings, Soundtrack, rms_dbfs
from sf_media.truepeak import to_dbtp, true_peak
from sf_media.wavio import write_wav

RATE = 48_000


def _wav(path: Path, samples: np.ndarray, rate: int = 22_050) -> Path:
    write_wav(path, samples.astype(np.float32), rate)
    return path


def _speechlike(seconds: float, seed: int, rate: int = 22_050) -> np.ndarray:
    """Like Piper's speech for a limiter: voiced syllables, a click at each, peaks ~17 dB over loudness."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    syllables = np.clip(2.5 * np.sin(2 * math.pi * 3.0 * t), 0.0, 1.0)
    voice = sum(np.sin(2 * math.pi * 140 * k * t + rng.uniform(0, 6)) / k for k in range(1, 7))
    audio = 0.08 * syllables * voice
    audio[np.flatnonzero(np.diff(np.sign(np.sin(2 * math.pi * 3.0 * t))) < 0) - 1500] = 0.35
    return audio


def _clicky(seconds: float, seed: int, rate: int = 22_050) -> np.ndarray:
    """Far peakier than any voice: noise with frequent spikes ~28 dB over its loudness."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    syllables = np.maximum(0.0, np.sin(2 * math.pi * 3.0 * t)) ** 3
    spikes = (rng.random(t.size) < 0.002) * rng.standard_normal(t.size) * 4
    return 0.1 * syllables * (np.sin(2 * math.pi * 140 * t) + 0.5 * rng.standard_normal(t.size) + spikes)


def _mix(soundtrack: Soundtrack) -> np.ndarray:
    return np.concatenate(list(soundtrack.chunks(RATE)), axis=1)


def _silent_cues(tmp_path: Path) -> list[Cue]:
    # Silent sentences: the mix is then the bed alone, ducked exactly where the sentences are.
    silence = _wav(tmp_path / "silence.wav", np.zeros(2 * 22_050))
    return [Cue(2.0, silence), Cue(9.0, silence)]


def test_the_bed_ducks_while_a_sentence_plays_and_comes_back_between(tmp_path: Path) -> None:
    bed = AmbientBed(RATE, -30.0, seed=2, style=BedStyle.BROWN)
    settings = MixSettings(target_lufs=-20.0, duck_db=8.0, attack_seconds=0.3, release_seconds=0.9)
    soundtrack = Soundtrack(
        _silent_cues(tmp_path), duration=14.0, sample_rate=RATE, settings=settings, bed=bed
    )

    mix = _mix(soundtrack)
    bed_alone = bed.segment(0, mix.shape[1]) * np.float32(soundtrack.bed_gain)

    during = slice(round(2.5 * RATE), round(3.5 * RATE))  # inside the first sentence
    between = slice(round(5.5 * RATE), round(8.0 * RATE))  # well clear of both sentences' ramps
    assert rms_dbfs(mix[:, during]) - rms_dbfs(bed_alone[:, during]) == pytest.approx(-8.0, abs=0.05)
    assert rms_dbfs(mix[:, between]) == pytest.approx(rms_dbfs(bed_alone[:, between]), abs=0.05)
    gains = soundtrack.duck_gains(0, mix.shape[1])
    # It goes down before the sentence starts (the voice enters over a bed already down)...
    assert gains[round(2.0 * RATE)] == pytest.approx(10 ** (-8 / 20))
    assert gains[round(1.6 * RATE)] == 1.0
    # ...comes back after it ends, and never steps: a smooth ramp, not a switch.
    assert gains[round(4.0 * RATE + 0.95 * RATE)] == 1.0
    assert float(np.abs(np.diff(gains)).max()) < 1e-4


def test_a_short_pause_keeps_the_bed_down_instead_of_pumping(tmp_path: Path) -> None:
    silence = _wav(tmp_path / "silence.wav", np.zeros(22_050))
    cues = [Cue(1.0, silence), Cue(2.5, silence)]  # a 0.5 s pause: shorter than attack + release
    bed = AmbientBed(RATE, -30.0, seed=2, style=BedStyle.PAD)
    settings = MixSettings(target_lufs=-20.0, duck_db=8.0)
    soundtrack = Soundtrack(cues, duration=5.0, sample_rate=RATE, settings=settings, bed=bed)

    gains = soundtrack.duck_gains(round(2.0 * RATE), round(0.5 * RATE))

    np.testing.assert_allclose(gains, 10 ** (-8 / 20))


@pytest.mark.parametrize("target", [-14.0, -25.0])
def test_the_programme_lands_on_its_target_loudness_under_the_ceiling(tmp_path: Path, target: float) -> None:
    cues = [Cue(1.0 + 3.0 * i, _wav(tmp_path / f"s{i}.wav", _speechlike(2.2, i))) for i in range(6)]
    bed = AmbientBed(RATE, target - 12.0, seed=4, style=BedStyle.PAD)
    settings = MixSettings(target_lufs=target, bed_below_voice_lu=12.0, duck_db=8.0, ceiling_dbtp=-2.0)
    soundtrack = Soundtrack(cues, duration=20.0, sample_rate=RATE, settings=settings, bed=bed)

    mix = _mix(soundtrack)

    assert mix.shape == (2, 20 * RATE)
    assert integrated_loudness(block_powers(mix, RATE)) == pytest.approx(target, abs=0.5)
    assert to_dbtp(true_peak(mix)) <= -2.0 + 0.01


def test_a_voice_too_peaky_for_the_target_is_not_squashed_to_reach_it(tmp_path: Path) -> None:
    cues = [Cue(1.0 + 3.0 * i, _wav(tmp_path / f"s{i}.wav", _clicky(2.2, i))) for i in range(4)]
    soundtrack = Soundtrack(cues, duration=14.0, sample_rate=RATE, settings=MixSettings(target_lufs=-14.0))

    mix = _mix(soundtrack)

    assert soundtrack.make_up_db <= 4.0
    assert -18.0 < integrated_loudness(block_powers(mix, RATE)) < -14.5  # quieter, not flattened
    assert to_dbtp(true_peak(mix)) <= -2.0 + 0.01


def test_the_mix_does_not_depend_on_the_chunk_size(tmp_path: Path) -> None:
    cues = [Cue(0.5, _wav(tmp_path / "s.wav", _speechlike(2.0, 1)))]
    bed = AmbientBed(RATE, -28.0, seed=4, style=BedStyle.RAIN)
    settings = MixSettings(target_lufs=-14.0)
    soundtrack = Soundtrack(cues, duration=4.0, sample_rate=RATE, settings=settings, bed=bed)

    a = np.concatenate(list(soundtrack.chunks(RATE)), axis=1)
    b = np.concatenate(list(soundtrack.chunks(7_000)), axis=1)

    np.testing.assert_allclose(a, b, atol=1e-6)


def test_speech_is_resampled_to_48_khz_without_aliasing_or_clicks(tmp_path: Path) -> None:
    from sf_media.wavio import read_wav

    t = np.arange(22_050) / 22_050
    tone = 0.5 * np.sin(2 * math.pi * 9_000 * t) * np.hanning(t.size)  # high, near Piper's Nyquist
    up = read_wav(_wav(tmp_path / "tone.wav", tone), RATE)

    assert up.size == pytest.approx(RATE, abs=2)
    spectrum = np.abs(np.fft.rfft(up * np.hanning(up.size)))
    freqs = np.fft.rfftfreq(up.size, 1 / RATE)
    # Nothing folds or images above the source's 11.025 kHz band edge.
    assert 20 * np.log10(spectrum[freqs > 11_500].max() / spectrum.max()) < -60
    assert float(np.abs(up[:50]).max()) < 1e-3 and float(np.abs(up[-50:]).max()) < 1e-3
