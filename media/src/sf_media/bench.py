"""Render benchmark: `python -m sf_media.bench --format sleepy --seconds 600`.

Times the render stage alone (mix + frames + encode) on a real script, with ToneSpeaker standing in
for the voice so the number measures rendering, not text-to-speech (Piper's own speed is reported
separately with `--piper-sentences N`). Prints one JSON object: wall seconds, the ratio to the
video's real time, and the process's peak RSS. `--draft` times the draft preset instead.

`--presets ultrafast,superfast,...` compares x264 presets on the format's moving pictures instead:
one JSON line per preset with encode time, file size and luma PSNR against the source frames (a
quality proxy), the numbers the formats' `x264_preset` was chosen by.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from sf_media.encoder import add_video_stream, h264_profile
from sf_media.formats import spec_for
from sf_media.pipeline import narrate, render, write_script
from sf_media.speech import PiperSpeaker, ToneSpeaker
from sf_media.visuals import FrameSource


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (x264's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes; this benchmark targets the Linux workers).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_render(
    fmt: str, seconds: int, topic: str, keep: Path | None, draft: bool = False
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="sf-bench-") as tmp:
        work = keep or Path(tmp)
        script = write_script(topic, fmt, seconds, work)
        started = time.monotonic()
        narration = narrate(script, work, ToneSpeaker())
        speech_seconds = time.monotonic() - started
        rss_before = _peak_rss_mb()
        cpu_before = _cpu_seconds()
        result = render(narration, work, draft=draft)
        cpu = _cpu_seconds() - cpu_before
        info = result.info
        return {
            "format": fmt,
            "draft": draft,
            "video_seconds": round(info.duration, 2),
            "render_wall_seconds": round(result.wall_seconds, 2),
            "ratio_to_real_time": round(result.wall_seconds / info.duration, 4),
            # On a shared machine wall time mostly measures the neighbours; CPU time does not.
            "render_cpu_seconds": round(cpu, 2),
            "cpu_ratio_to_real_time": round(cpu / info.duration, 4),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "peak_rss_mb_before_render": round(rss_before, 1),
            "tone_speech_wall_seconds": round(speech_seconds, 2),
            "sentences": len(narration.utterances),
            "frames": result.frames,
            "frames_drawn": result.frames_drawn,
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "video_codec": info.video_codec,
            "audio_codec": info.audio_codec,
            "bytes": info.bytes,
            "faststart": info.faststart,
            "h264_profile": h264_profile(str(work / "video.mp4")),
        }


def bench_piper(sentences: int, topic: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="sf-bench-piper-") as tmp:
        script = write_script(topic, "longform", 1020, Path(tmp))
        texts = [s.text for s in script.sentences()][:sentences]
        started = time.monotonic()
        first = PiperSpeaker().speak(texts[0], Path(tmp) / "one.wav")
        one_wall = time.monotonic() - started
        started = time.monotonic()
        spoken = PiperSpeaker().speak_many(texts, Path(tmp) / "many")
        wall = time.monotonic() - started
    audio = sum(u.seconds for u in spoken)
    return {
        "engine": "piper en_US-joe-medium",
        "single_sentence_audio_seconds": round(first, 2),
        "single_sentence_wall_seconds": round(one_wall, 2),
        "batch_sentences": len(spoken),
        "batch_audio_seconds": round(audio, 1),
        "batch_wall_seconds": round(wall, 2),
        "batch_x_real_time": round(audio / wall, 1),
        "words_per_second": round(sum(len(t.split()) for t in texts) / audio, 2),
    }


def bench_presets(fmt: str, seconds: int, topic: str, presets: list[str]) -> list[dict[str, object]]:
    """Encode the same frames with each preset (video only) and measure size, time and PSNR."""
    with tempfile.TemporaryDirectory(prefix="sf-bench-presets-") as tmp:
        script = write_script(topic, fmt, seconds, Path(tmp))
        narration = narrate(script, Path(tmp), ToneSpeaker())
        frames = FrameSource(narration.script, spec_for(fmt))
        rows = []
        for preset in presets:
            path = Path(tmp) / f"{preset}.mp4"
            started, cpu_before = time.monotonic(), _cpu_seconds()
            count = encode_video_only(frames, path, preset)
            wall, cpu = time.monotonic() - started, _cpu_seconds() - cpu_before
            rows.append(
                {
                    "format": fmt,
                    "preset": preset,
                    "frames": count,
                    "encode_wall_seconds": round(wall, 2),
                    "ratio_to_real_time": round(wall / (count / frames.spec.fps), 4),
                    "cpu_seconds": round(cpu, 2),
                    "cpu_ratio_to_real_time": round(cpu / (count / frames.spec.fps), 4),
                    "load_average_1min": round(os.getloadavg()[0], 2),
                    "bytes": path.stat().st_size,
                    "mbit_per_s": round(path.stat().st_size * 8 / (count / frames.spec.fps) / 1e6, 2),
                    "luma_psnr_db": round(luma_psnr(frames, path), 2),
                    "h264_profile": h264_profile(str(path)),
                }
            )
        return rows


def encode_video_only(frames: FrameSource, path: Path, preset: str) -> int:
    container = av.open(str(path), "w")
    try:
        stream = add_video_stream(container, frames.spec, preset=preset)
        last: tuple[object, av.VideoFrame] | None = None
        for index in range(frames.frame_count):
            key = frames.key(index)
            if last is None or last[0] != key:
                last = (key, frames.picture(index).video_frame())
            last[1].pts = index
            container.mux(stream.encode(last[1]))
        container.mux(stream.encode(None))
    finally:
        container.close()
    return frames.frame_count


def luma_psnr(frames: FrameSource, path: Path, every: int = 15) -> float:
    """Mean luma PSNR of every `every`-th decoded frame against the picture that was encoded."""
    errors = []
    with av.open(str(path)) as container:
        for index, decoded in enumerate(container.decode(video=0)):
            if index % every:
                continue
            y = decoded.to_ndarray()[: frames.spec.height].astype(np.float64)
            source = frames.picture(index).y.astype(np.float64)
            errors.append(float(np.mean((y - source) ** 2)))
    return 10 * math.log10(255**2 / max(float(np.mean(errors)), 1e-9))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sf_media.bench", description=__doc__)
    parser.add_argument("--format", default="sleepy", choices=["short", "longform", "sleepy"])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--topic", default="tide pools")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this directory")
    parser.add_argument("--piper-sentences", type=int, help="instead: time Piper on N sentences")
    parser.add_argument("--draft", action="store_true", help="render with the draft preset")
    parser.add_argument("--presets", help="instead: compare these x264 presets (comma-separated)")
    args = parser.parse_args(argv)
    if args.presets:
        for row in bench_presets(args.format, args.seconds, args.topic, args.presets.split(",")):
            sys.stdout.write(json.dumps(row) + "\n")
        return 0
    if args.piper_sentences:
        report = bench_piper(args.piper_sentences, args.topic)
    else:
        report = bench_render(args.format, args.seconds, args.topic, args.keep, args.draft)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
