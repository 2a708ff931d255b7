"""Mono WAV files in and out, as float32 in [-1, 1]; resampling goes through FFmpeg's swresample."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from sf_media.errors import MediaError

Samples = npt.NDArray[np.float32]


def write_wav(path: Path, samples: Samples, sample_rate: int) -> float:
    """Write 16-bit mono PCM; returns the duration in seconds."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return len(pcm) / sample_rate


def wav_seconds(path: Path) -> float:
    """Duration from the header alone: cheap enough to call for every sentence."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def read_wav(path: Path, sample_rate: int) -> Samples:
    """The file's audio as mono float32 at `sample_rate` (16-bit PCM input, any channel count)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise MediaError(f"{path}: only 16-bit PCM WAV is supported")
            channels, rate = wav.getnchannels(), wav.getframerate()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as exc:
        raise MediaError(f"{path}: not a readable WAV file ({exc})") from exc
    mono = pcm.reshape(-1, channels).mean(axis=1, dtype=np.float32) / 32768.0
    return mono if rate == sample_rate else resample(mono, rate, sample_rate)


def resample(samples: Samples, from_rate: int, to_rate: int) -> Samples:
    """Band-limited resampling (libswresample), flushed so no tail is lost."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = from_rate
    parts = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
