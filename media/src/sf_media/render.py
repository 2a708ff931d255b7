"""Encode the picture and the soundtrack into an H.264 + AAC MP4 with PyAV (FFmpeg inside the wheel).

Both streams are produced and muxed as they go, audio kept about a second ahead of video, so the
muxer never buffers and memory stays flat whatever the length. A frame is drawn only when its scene
changes; every other frame re-sends the previous picture, which x264 codes as an almost free skip.
`+faststart` moves the index to the front on close so YouTube and browsers can start playing early.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

from sf_media.ambient import Stereo
from sf_media.errors import RenderCancelledError
from sf_media.mix import Soundtrack
from sf_media.probe import MediaInfo, probe
from sf_media.visuals import FrameSource, Scene

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The written file as probed, plus what the render cost."""

    info: MediaInfo
    frames: int
    frames_drawn: int
    wall_seconds: float


def _report(on_progress: Callable[[float, str], None] | None, index: int, frames: FrameSource) -> None:
    if on_progress is not None:
        total = max(frames.frame_count, 1)
        fps = frames.spec.fps
        on_progress(index / total, f"encoded {index / fps:.0f} of {total / fps:.0f} s of video")


def render_video(
    frames: FrameSource,
    soundtrack: Soundtrack,
    out_path: Path,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> RenderResult:
    """Write `out_path` (MP4) from a frame source and a soundtrack of the same duration.

    `should_stop` is asked about once a second of video; when it says yes the render stops with
    RenderCancelledError and leaves no file (a lost lease or a shutdown must not wait an hour).
    `on_progress(fraction, note)` is told as often how much of the video is encoded.
    """
    check_every = max(1, round(frames.spec.fps))
    spec = frames.spec
    started = time.monotonic()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial.mp4")
    container = av.open(str(partial), "w", options={"movflags": "+faststart"})
    try:
        video = container.add_stream("libx264", rate=spec.fps)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        video.codec_context.gop_size = max(1, round(spec.keyint_seconds * spec.fps))
        video.codec_context.colorspace = Colorspace.ITU709
        video.codec_context.color_primaries = ColorPrimaries.BT709
        video.codec_context.color_trc = ColorTrc.BT709
        video.codec_context.color_range = ColorRange.MPEG
        video.options = {"preset": spec.x264_preset, "crf": str(spec.crf), "tune": "stillimage"}
        audio = container.add_stream("aac", rate=soundtrack.sample_rate, layout="stereo")
        audio.bit_rate = spec.audio_bitrate
        # FFmpeg's "fast" AAC coder: half the CPU of twoloop, and at our bitrates (160-192 kb/s)
        # its maintainers found it sounds better; beds of noise are the encoder's hardest input.
        audio.options = {"aac_coder": "fast"}

        audio_chunks = soundtrack.chunks(soundtrack.sample_rate)  # one second per chunk
        audio_pts = 0
        drawn = 0
        last: tuple[Scene, av.VideoFrame] | None = None
        for index, scene in frames.scenes():
            if index % check_every == 0:
                if should_stop is not None and should_stop():
                    raise RenderCancelledError(f"render of {out_path.name} stopped at frame {index}")
                _report(on_progress, index, frames)
            # Keep the audio a second or two ahead of the picture so the muxer can interleave at once.
            ahead = (index / spec.fps + 1) * soundtrack.sample_rate
            while audio_pts < soundtrack.total_samples and audio_pts <= ahead:
                audio_pts = _mux_audio(container, audio, next(audio_chunks), audio_pts)
            if last is None or last[0] != scene:
                rgb = np.asarray(frames.render(scene))
                picture = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                    format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
                )
                last = (scene, picture)
                drawn += 1
            last[1].pts = index
            container.mux(video.encode(last[1]))
        for samples in audio_chunks:  # whatever audio runs past the last frame time
            audio_pts = _mux_audio(container, audio, samples, audio_pts)
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
        container.close()
    except BaseException:
        container.close()
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out_path)
    info = probe(out_path)
    wall = time.monotonic() - started
    log.info(
        "rendered %s: %.1f s in %.1f s, %d frames (%d drawn)",
        out_path.name,
        info.duration,
        wall,
        frames.frame_count,
        drawn,
    )
    return RenderResult(info=info, frames=frames.frame_count, frames_drawn=drawn, wall_seconds=wall)


def _mux_audio(container: OutputContainer, stream: AudioStream, samples: Stereo, pts: int) -> int:
    """Encode and mux one chunk of planar stereo; returns the next chunk's pts (in samples)."""
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
    frame.sample_rate, frame.pts = stream.rate, pts
    container.mux(stream.encode(frame))
    return pts + int(samples.shape[1])
