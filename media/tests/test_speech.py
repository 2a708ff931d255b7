import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sf_media import EspeakSpeaker, PiperSpeaker, SpeechError, ToneSpeaker
from sf_media.mix import rms_dbfs
from sf_media.speech import joe_voice
from sf_media.wavio import read_wav


def test_piper_speaks_a_sentence_with_the_bundled_voice_in_a_child_process(tmp_path: Path) -> None:
    text = "Tide pools are small worlds left behind by the sea."
    wav = tmp_path / "tide.wav"

    seconds = PiperSpeaker().speak(text, wav)

    audio = read_wav(wav, 22_050)
    assert 1.5 < seconds < 6.0  # ten words: about 3 s for this voice
    assert len(audio) / 22_050 == pytest.approx(seconds, abs=0.01)
    assert rms_dbfs(audio) > -30.0  # real speech, not silence
    assert "piper" not in sys.modules  # GPL code stays behind the process boundary


def test_piper_batches_keep_sentence_order(tmp_path: Path) -> None:
    texts = ["One.", "This second sentence is clearly the longest of the three.", "Three."]

    done: list[int] = []
    spoken = PiperSpeaker(batch_size=2).speak_many(texts, tmp_path, on_spoken=done.append)

    assert done == [2, 3]  # after each batch: how many sentences are spoken so far
    assert [u.text for u in spoken] == texts
    assert spoken[1].seconds > 2 * max(spoken[0].seconds, spoken[2].seconds)
    assert [u.path.name for u in spoken] == ["sentence-00000.wav", "sentence-00001.wav", "sentence-00002.wav"]


def test_the_voice_package_exposes_model_and_config() -> None:
    model, config = joe_voice()

    assert model.suffix == ".onnx" and model.stat().st_size > 1_000_000
    assert config.name == model.name + ".json"


def test_a_failing_engine_reports_its_error(tmp_path: Path) -> None:
    speaker = PiperSpeaker(model=tmp_path / "missing.onnx", config=tmp_path / "missing.onnx.json")

    with pytest.raises(SpeechError, match="exited"):
        speaker.speak("Hello.", tmp_path / "x.wav")


def test_espeak_speaker_runs_the_binary_with_text_on_stdin(tmp_path: Path) -> None:
    # A stand-in espeak-ng that writes a one-second tone and records its stdin: the machine has no
    # espeak-ng binary, and this checks our side of the contract (arguments, stdin, WAV out).
    fake = tmp_path / "espeak-ng"
    fake.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import sys, wave, math, struct
            out = sys.argv[sys.argv.index("-w") + 1]
            open(out + ".txt", "w").write(sys.stdin.read())
            with wave.open(out, "wb") as w:
                w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)
                w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 10))) for i in range(22050)))
            """
        )
    )
    fake.chmod(0o755)
    speaker = EspeakSpeaker(binary=str(fake))

    spoken = speaker.speak_many(["Hello  there,\n world."], tmp_path / "out")

    assert EspeakSpeaker.available(str(fake))
    assert spoken[0].seconds == pytest.approx(1.0)
    assert (tmp_path / "out" / "sentence-00000.wav.txt").read_text() == "Hello there, world."


def test_empty_sentences_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpeechError):
        ToneSpeaker().speak("   ", tmp_path / "x.wav")


def test_tone_speech_is_audible_but_not_clipping(tmp_path: Path) -> None:
    ToneSpeaker().speak("a few soft words", tmp_path / "t.wav")

    audio = read_wav(tmp_path / "t.wav", 22_050)

    assert -30 < rms_dbfs(audio) < -10
    assert float(np.abs(audio).max()) < 0.5
    assert not math.isnan(float(audio.sum()))


def test_piper_runs_as_its_own_command() -> None:
    # The same entry point the speaker uses; fails loudly if `uv sync` did not install piper-tts.
    result = subprocess.run(
        [sys.executable, "-m", "piper", "--help"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0
    assert "--model" in result.stdout
