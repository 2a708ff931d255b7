"""Measure a finished video's sound as a listener's meters would: `python -m sf_media.measure DIR`.

Decodes the MP4's AAC stream (what a viewer hears, encoder overshoot included) and runs it through
FFmpeg's own EBU R128 meter (the `ebur128` filter inside PyAV: integrated loudness and 4x true peak,
an independent check of our meters), plus our true-peak meter, and levels per 100 ms for the
noise floor between sentences and the longest silence. Given a job directory, the sentence times
come from its script.json. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.filter import Graph

from sf_media.errors import MediaError
from sf_media.truepeak import DELAY, TruePeakMeter, to_dbtp

WINDOW_SECONDS = 0.1
SILENCE_DBFS = -60.0


@dataclass(frozen=True, slots=True)
class AudioMeasurement:
    sample_rate: int
    channels: int
    seconds: float
    integrated_lufs: float  # FFmpeg ebur128
    true_peak_dbtp: float  # FFmpeg ebur128 (4x oversampled)
    our_true_peak_dbtp: float  # sf_media.truepeak on the same decoded samples
    window_dbfs: tuple[float, ...]  # RMS of each 100 ms window, both channels

    def between_sentences_dbfs(self, speech: Sequence[tuple[float, float]], margin: float = 0.15) -> float:
        """Median level of the windows that lie wholly outside every sentence (the noise floor)."""
        levels = np.array(self.window_dbfs)
        starts = np.arange(levels.size) * WINDOW_SECONDS
        quiet = np.ones(levels.size, dtype=bool)
        for begin, end in speech:
            quiet &= (starts + WINDOW_SECONDS <= begin - margin) | (starts >= end + margin)
        return float(np.median(levels[quiet])) if quiet.any() else -math.inf

    def during_sentences_dbfs(self, speech: Sequence[tuple[float, float]]) -> float:
        levels = np.array(self.window_dbfs)
        starts = np.arange(levels.size) * WINDOW_SECONDS
        inside = np.zeros(levels.size, dtype=bool)
        for begin, end in speech:
            inside |= (starts >= begin) & (starts + WINDOW_SECONDS <= end)
        return float(np.median(levels[inside])) if inside.any() else -math.inf

    def longest_silence_seconds(self) -> float:
        run = best = 0
        for level in self.window_dbfs:
            run = run + 1 if level < SILENCE_DBFS else 0
            best = max(best, run)
        return best * WINDOW_SECONDS


def measure_audio(path: Path) -> AudioMeasurement:
    """Decode every audio frame of `path` once, metering as it goes (memory flat in length)."""
    try:
        container = av.open(str(path))
    except (av.error.FileNotFoundError, av.error.InvalidDataError) as exc:
        raise MediaError(f"{path}: not a readable media file ({exc})") from exc
    with container:
        if not container.streams.audio:
            raise MediaError(f"{path}: no audio stream")
        stream = container.streams.audio[0]
        rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
        graph = Graph()
        source = graph.add_abuffer(
            format="fltp",
            sample_rate=rate,
            layout=stream.codec_context.layout.name,
            time_base=Fraction(1, rate),
        )
        meter = graph.add("ebur128", "metadata=1:peak=true")
        sink = graph.add("abuffersink")
        source.link_to(meter)
        meter.link_to(sink)
        graph.configure()
        ours = TruePeakMeter(channels)
        our_peak = 0.0
        window = round(WINDOW_SECONDS * rate)
        squares: list[float] = []
        carry = np.zeros((channels, 0))
        readings: dict[str, str] = {}
        total = 0
        # Planar float whatever the codec decodes to (AAC gives fltp; a WAV gives packed s16/flt).
        planar = av.AudioResampler(format="fltp", layout=stream.codec_context.layout.name, rate=rate)
        for frame in (out for decoded in container.decode(stream) for out in planar.resample(decoded)):
            samples = frame.to_ndarray().astype(np.float64)
            total += samples.shape[1]
            our_peak = max(our_peak, float(ours.process(samples).max(initial=0.0)))
            carry = np.concatenate([carry, samples], axis=1)
            whole = carry.shape[1] // window * window
            squares += list((carry[:, :whole] ** 2).mean(axis=0).reshape(-1, window).mean(axis=1))
            carry = carry[:, whole:]
            frame.pts = None
            graph.push(frame)
            readings = _drain(graph, readings)
        our_peak = max(our_peak, float(ours.process(np.zeros((channels, DELAY + 1))).max()))
        if carry.shape[1]:
            squares.append(float((carry**2).mean()))
    levels = tuple(round(_dbfs(p), 2) for p in squares)
    return AudioMeasurement(
        sample_rate=rate,
        channels=channels,
        seconds=total / rate if rate else 0.0,
        integrated_lufs=float(readings.get("lavfi.r128.I", "-inf")),
        true_peak_dbtp=to_dbtp(float(readings.get("lavfi.r128.true_peak", "0"))),
        our_true_peak_dbtp=to_dbtp(our_peak),
        window_dbfs=levels,
    )


def _drain(graph: Graph, readings: dict[str, str]) -> dict[str, str]:
    """Pull whatever the meter has finished; keep the latest readings (they are cumulative)."""
    while True:
        try:
            frame = graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return readings
        readings = dict(frame.metadata) or readings


def _dbfs(mean_square: float) -> float:
    return 10 * math.log10(mean_square) if mean_square > 0 else -math.inf


def speech_times(job_dir: Path) -> list[tuple[float, float]]:
    """(start, end) of every sentence in a job directory's final script.json."""
    data = json.loads((job_dir / "script.json").read_text(encoding="utf-8"))
    return [
        (float(s["start"]), float(s["end"])) for section in data["sections"] for s in section["sentences"]
    ]


def report(path: Path) -> dict[str, object]:
    video = path / "video.mp4" if path.is_dir() else path
    measured = measure_audio(video)
    levels = [level for level in measured.window_dbfs if math.isfinite(level)]
    result: dict[str, object] = {
        key: value for key, value in asdict(measured).items() if key != "window_dbfs"
    }
    result["loudest_100ms_dbfs"] = max(levels, default=-math.inf)
    result["quietest_100ms_dbfs"] = min(measured.window_dbfs, default=-math.inf)
    result["longest_silence_seconds"] = measured.longest_silence_seconds()
    if path.is_dir() and (path / "script.json").is_file():
        speech = speech_times(path)
        result["speech_median_100ms_dbfs"] = measured.during_sentences_dbfs(speech)
        result["between_sentences_median_100ms_dbfs"] = measured.between_sentences_dbfs(speech)
    per_second = np.array(measured.window_dbfs[: len(measured.window_dbfs) // 10 * 10]).reshape(-1, 10)
    rms_seconds = 10 * np.log10(np.mean(10 ** (per_second / 10), axis=1) + 1e-30)
    result["rms_per_second_dbfs_p10_p50_p90"] = [
        round(float(np.percentile(rms_seconds, q)), 1) for q in (10, 50, 90)
    ]
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sf_media.measure", description=__doc__)
    parser.add_argument("path", type=Path, help="a video.mp4, or a job directory holding one")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(json.dumps(report(args.path)) + "\n")
    except (MediaError, OSError) as exc:
        sys.stderr.write(f"sf: error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
