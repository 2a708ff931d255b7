"""What an encoded file really contains, read back with PyAV (the render's metadata comes from here,
not from what we asked the encoder for)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from sf_media.errors import MediaError


@dataclass(frozen=True, slots=True)
class MediaInfo:
    path: Path
    width: int
    height: int
    fps: float
    duration: float
    video_codec: str
    audio_codec: str
    audio_sample_rate: int
    audio_channels: int
    bytes: int
    faststart: bool  # the index (moov) precedes the media data, so playback starts before download ends


def probe(path: Path) -> MediaInfo:
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            audio = container.streams.audio[0]
            duration = (container.duration or 0) / av.time_base
            return MediaInfo(
                path=path,
                width=video.codec_context.width,
                height=video.codec_context.height,
                fps=float(video.average_rate or 0),
                duration=duration,
                video_codec=video.codec_context.name,
                audio_codec=audio.codec_context.name,
                audio_sample_rate=audio.codec_context.sample_rate,
                audio_channels=audio.codec_context.channels,
                bytes=path.stat().st_size,
                faststart=_moov_before_mdat(path),
            )
    except (av.FFmpegError, IndexError) as exc:
        raise MediaError(f"{path}: not a video with one video and one audio stream ({exc})") from exc


def _moov_before_mdat(path: Path) -> bool:
    """Walk the top-level MP4 boxes until `moov` or `mdat` shows up."""
    with path.open("rb") as f:
        while header := f.read(8):
            if len(header) < 8:
                return False
            size, kind = int.from_bytes(header[:4], "big"), header[4:]
            if kind in (b"moov", b"mdat"):
                return kind == b"moov"
            if size == 1:
                size = int.from_bytes(f.read(8), "big") - 8
            elif size == 0:
                return False
            f.seek(size - 8, 1)
    return False
