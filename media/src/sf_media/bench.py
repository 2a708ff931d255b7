"""Render benchmark: `python -m sf_media.bench --format sleepy --seconds 600`.

Times the render stage alone (mix + frames + encode) on a real script, with ToneSpeaker standing in
for the voice so the number measures rendering, not text-to-speech (Piper's own speed is reported
separately with `--piper-sentences N`). Prints one JSON object: wall seconds, the ratio to the
video's real time, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from sf_media.pipeline import narrate, render, write_script
from sf_media.speech import PiperSpeaker, ToneSpeaker


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes; this benchmark targets the Linux workers).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_render(fmt: str, seconds: int, topic: str, keep: Path | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="sf-bench-") as tmp:
        work = keep or Path(tmp)
        script = write_script(topic, fmt, seconds, work)
        started = time.monotonic()
        narration = narrate(script, work, ToneSpeaker())
        speech_seconds = time.monotonic() - started
        rss_before = _peak_rss_mb()
        result = render(narration, work)
        info = result.info
        return {
            "format": fmt,
            "video_seconds": round(info.duration, 2),
            "render_wall_seconds": round(result.wall_seconds, 2),
            "ratio_to_real_time": round(result.wall_seconds / info.duration, 4),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sf_media.bench", description=__doc__)
    parser.add_argument("--format", default="sleepy", choices=["short", "longform", "sleepy"])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--topic", default="tide pools")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this directory")
    parser.add_argument("--piper-sentences", type=int, help="instead: time Piper on N sentences")
    args = parser.parse_args(argv)
    if args.piper_sentences:
        report = bench_piper(args.piper_sentences, args.topic)
    else:
        report = bench_render(args.format, args.seconds, args.topic, args.keep)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
