"""Encode the picture and the soundtrack into an H.264 + AAC MP4 with PyAV (FFmpeg inside the wheel).

Both streams are produced and muxed as they go, audio kept about a second ahead of video, so the
muxer never buffers and memory stays flat whatever the length. A picture is drawn only when its
frame key changes (the backdrop moves a few times a second, captions when they change); frames in
between re-send the previous picture, which x264 codes almost for free.

A sleepy video is one seamless loop after its title: the loop is encoded once (starting on a
keyframe, no B-frames) and its packets are muxed again and again with shifted timestamps, so an hour
costs little more than the loop. `+faststart` moves the index to the front on close so YouTube and
browsers can start playing early.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.stream import Stream
from av.video.frame import PictureType
from av.video.stream import VideoStream

from sf_media.ambient import Stereo
from sf_media.encoder import add_video_stream
from sf_media.errors import MediaError, RenderCancelledError
from sf_media.mix import Soundtrack
from sf_media.probe import MediaInfo, probe
from sf_media.visuals import FrameKey, FrameSource, Loop

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
    *,
    draft: bool = False,
) -> RenderResult:
    """Write `out_path` (MP4) from a frame source and a soundtrack of the same duration.

    `draft` encodes with the format's fast draft preset (previews) instead of the upload preset.

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
        video = add_video_stream(container, spec, draft=draft, seconds=frames.script.duration)
        audio = container.add_stream("aac", rate=soundtrack.sample_rate, layout="stereo")
        audio.bit_rate = spec.audio_bitrate
        # FFmpeg's "fast" AAC coder: half the CPU of twoloop, and at our bitrates (160-192 kb/s)
        # its maintainers found it sounds better; beds of noise are the encoder's hardest input.
        audio.options = {"aac_coder": "fast"}

        audio_chunks = soundtrack.chunks(soundtrack.sample_rate)  # one second per chunk
        audio_pts = 0
        pictures = _Pictures(frames, video, frames.loop)
        for index in range(frames.frame_count):
            if index % check_every == 0:
                if should_stop is not None and should_stop():
                    raise RenderCancelledError(f"render of {out_path.name} stopped at frame {index}")
                _report(on_progress, index, frames)
            # Keep the audio a second or two ahead of the picture so the muxer can interleave at once.
            ahead = (index / spec.fps + 1) * soundtrack.sample_rate
            while audio_pts < soundtrack.total_samples and audio_pts <= ahead:
                audio_pts = _mux_audio(container, audio, next(audio_chunks), audio_pts)
            for packet in pictures.packets(index):
                container.mux(packet)
        for samples in audio_chunks:  # whatever audio runs past the last frame time
            audio_pts = _mux_audio(container, audio, samples, audio_pts)
        for packet in pictures.finish():
            container.mux(packet)
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
        pictures.drawn,
    )
    return RenderResult(info=info, frames=frames.frame_count, frames_drawn=pictures.drawn, wall_seconds=wall)


def _mux_audio(container: OutputContainer, stream: AudioStream, samples: Stereo, pts: int) -> int:
    """Encode and mux one chunk of planar stereo; returns the next chunk's pts (in samples)."""
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
    frame.sample_rate, frame.pts = stream.rate, pts
    container.mux(stream.encode(frame))
    return pts + int(samples.shape[1])


@dataclass(frozen=True, slots=True)
class _Stored:
    """An encoded packet of the loop, kept to be muxed again at later timestamps."""

    data: bytes
    pts: int
    dts: int
    time_base: Fraction
    keyframe: bool


class _Pictures:
    """Encoded video packets frame by frame: drawn when the key changes, repeated from the loop after it.

    While encoding the loop's frames, their packets are kept (a loop of dim, slow sky is a few MB);
    once the loop has been encoded the encoder is flushed and every later frame is a kept packet with
    its timestamps moved on by whole loops.
    """

    def __init__(self, frames: FrameSource, stream: VideoStream, loop: Loop | None) -> None:
        self.frames = frames
        self.stream = stream
        self.loop = loop
        self.drawn = 0
        self._last: tuple[FrameKey, av.VideoFrame] | None = None
        self._kept: list[_Stored] = []
        self._flushed = False

    def _picture(self, index: int) -> av.VideoFrame:
        key = self.frames.key(index)
        if self._last is None or self._last[0] != key:
            planes = self.frames.picture(index)
            self._last = (key, planes.video_frame())
            self.drawn += 1
        return self._last[1]

    def _keep(self, packets: list[av.Packet[Stream]]) -> list[av.Packet[Stream]]:
        loop = self.loop
        if loop is not None:
            for packet in packets:
                pts, dts, time_base = packet.pts, packet.dts, packet.time_base
                if pts is None or dts is None or time_base is None:
                    raise MediaError("the encoder returned a packet without timestamps")
                if pts >= self._ticks(loop.start, time_base):
                    self._kept.append(_Stored(bytes(packet), pts, dts, time_base, packet.is_keyframe))
        return packets

    def _ticks(self, frames: int, time_base: Fraction) -> int:
        """A number of frames as a duration in `time_base` units."""
        return round(Fraction(frames, self.frames.spec.fps) / time_base)

    def packets(self, index: int) -> list[av.Packet[Stream]]:
        loop = self.loop
        if loop is not None and index >= loop.start + loop.frames:
            if not self._flushed:
                self._flushed = True
                flushed = self._keep(self.stream.encode(None))
                return [*flushed, self._repeat(index, loop)]
            return [self._repeat(index, loop)]
        picture = self._picture(index)
        picture.pts = index
        # The loop must open on a keyframe so that each repetition decodes on its own.
        picture.pict_type = PictureType.I if loop is not None and index == loop.start else PictureType.NONE
        return self._keep(self.stream.encode(picture))

    def _repeat(self, index: int, loop: Loop) -> av.Packet[Stream]:
        if len(self._kept) != loop.frames:
            raise MediaError(f"the sleepy loop encoded to {len(self._kept)} packets, expected {loop.frames}")
        turns, offset = divmod(index - loop.start, loop.frames)
        stored = self._kept[offset]
        packet = av.Packet(stored.data)
        packet.stream = self.stream
        packet.time_base = stored.time_base
        shift = self._ticks(turns * loop.frames, stored.time_base)
        packet.pts, packet.dts = stored.pts + shift, stored.dts + shift
        packet.is_keyframe = stored.keyframe
        return packet

    def finish(self) -> list[av.Packet[Stream]]:
        return [] if self._flushed else self._keep(self.stream.encode(None))
