from pathlib import Path

import numpy as np
import pytest
from sf_media import SpeechError, default_speaker
from sf_media.mix import rms_dbfs
from sf_media.speech import DEFAULT_VOICE, available_voices
from sf_media.wavio import read_wav


def test_the_bundled_voice_is_available_by_name() -> None:
    voices = available_voices()

    assert DEFAULT_VOICE in voices
    for name, load in voices.items():
        model, config = load()
        assert model.suffix == ".onnx" and model.is_file(), name
        assert config.is_file(), name


@pytest.mark.parametrize("voice", sorted(available_voices()))
def test_every_installed_voice_speaks(tmp_path: Path, voice: str) -> None:
    speaker = default_speaker(voice=voice)

    seconds = speaker.speak("The tide comes back in twice a day.", tmp_path / "v.wav")

    audio = read_wav(tmp_path / "v.wav", 48_000)
    assert 1.0 < seconds < 6.0
    assert rms_dbfs(audio) > -35.0
    assert float(np.abs(audio).max()) < 1.1  # Piper normalises to full scale; resampling may overshoot a hair


def test_a_slower_rate_speaks_longer(tmp_path: Path) -> None:
    text = "Slowly, the water settles in the pool."

    normal = default_speaker(rate=1.0).speak(text, tmp_path / "a.wav")
    slow = default_speaker(rate=0.7).speak(text, tmp_path / "b.wav")

    assert slow > normal * 1.2


def test_an_unknown_voice_names_the_installed_ones() -> None:
    with pytest.raises(SpeechError, match=f"unknown voice 'nobody'; installed voices: .*{DEFAULT_VOICE}"):
        default_speaker(voice="nobody")


def test_the_voice_list_names_each_voice_with_its_language(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from sf_media.voices import main

    assert main(["--json"]) == 0

    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed[0] == {"name": "joe", "language": "en_US", "quality": "medium", "default": True}
    assert {v["name"] for v in listed} == set(available_voices())
