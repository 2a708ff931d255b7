"""The finished files, as a viewer's player decodes them: 48 kHz AAC, on target, under -1 dBTP."""

import math
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
import pytest
from sf_media import make_video, spec_for
from sf_media.formats import SAMPLE_RATE, TRUE_PEAK_MAX_DBTP
from sf_media.measure import measure_audio, speech_times
from sf_media.speech import Utterance, utterance_path
from sf_media.wavio import write_wav


class PeakySpeaker:
    """Stands in for a voice with real speech's awkward part: sharp peaks ~17 dB over its loudness,
    like Piper's (the tone speaker is too smooth to push a limiter). 22.05 kHz like Piper."""

    RATE = 22_050

    def speak(self, text: str, wav_path: Path) -> float:
        words = len(text.split())
        rng = np.random.default_rng(zlib.crc32(text.encode()))
        t = np.arange(round(words / 3.0 * self.RATE)) / self.RATE
        syllables = np.clip(2.5 * np.sin(2 * math.pi * 3.0 * t), 0.0, 1.0)  # rounded plateaus
        voice = sum(np.sin(2 * math.pi * 130 * k * t + rng.uniform(0, 6)) / k for k in range(1, 7))
        audio = 0.08 * syllables * voice
        # A plosive-like click at the top of each syllable: Piper peaks near full scale this way.
        clicks = np.flatnonzero(np.diff(np.sign(np.sin(2 * math.pi * 3.0 * t))) < 0) - 1500
        audio[clicks] = 0.35 * rng.choice([-1.0, 1.0], clicks.size)
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        return write_wav(wav_path, audio.astype(np.float32), self.RATE)

    def speak_many(
        self,
        texts: Sequence[str],
        out_dir: Path,
        should_stop: Callable[[], bool] | None = None,
        on_spoken: Callable[[int], None] | None = None,
    ) -> list[Utterance]:
        spoken = []
        for index, text in enumerate(texts):
            path = utterance_path(out_dir, index)
            spoken.append(Utterance(text, path, self.speak(text, path)))
        return spoken


@pytest.mark.parametrize(("fmt", "seconds"), [("short", 15), ("longform", 40), ("sleepy", 60)])
def test_every_format_is_48_khz_on_its_loudness_target_and_under_minus_1_dbtp(
    tmp_path: Path, fmt: str, seconds: int
) -> None:
    make_video("tide pools", fmt, seconds, tmp_path, speaker=PeakySpeaker())
    spec = spec_for(fmt)

    measured = measure_audio(tmp_path / "video.mp4")

    assert (measured.sample_rate, measured.channels) == (SAMPLE_RATE, 2) == (48_000, 2)
    assert measured.integrated_lufs == pytest.approx(spec.loudness_lufs, abs=1.0)
    assert measured.true_peak_dbtp <= TRUE_PEAK_MAX_DBTP  # FFmpeg's meter, after AAC decoding
    assert measured.our_true_peak_dbtp <= TRUE_PEAK_MAX_DBTP
    with av.open(str(tmp_path / "video.mp4")) as container:
        assert container.streams.audio[0].bit_rate == pytest.approx(spec.audio_bitrate, rel=0.15)
    # The bed fills the pauses: never dead air between sentences, but well under the voice.
    speech = speech_times(tmp_path)
    floor = measured.between_sentences_dbfs(speech)
    assert measured.longest_silence_seconds() < 0.5  # only the very end of the bed's fade-out
    assert -60.0 < floor < measured.during_sentences_dbfs(speech) - 3.0


def test_a_piper_short_is_on_target_and_under_minus_1_dbtp(tmp_path: Path) -> None:
    make_video("tide pools", "short", 12, tmp_path)  # the real voice and its real peaks

    measured = measure_audio(tmp_path / "video.mp4")

    assert measured.sample_rate == 48_000
    assert measured.integrated_lufs == pytest.approx(-14.0, abs=1.0)
    assert measured.true_peak_dbtp <= TRUE_PEAK_MAX_DBTP
