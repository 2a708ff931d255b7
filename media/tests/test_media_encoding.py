"""What the encoder writes: H.264 High profile in BT.709 with upload-sized GOPs, and a faster draft."""

import itertools
from pathlib import Path

import av
import numpy as np
from sf_media import ToneSpeaker, make_video, narrate, render, write_script
from sf_media.encoder import h264_profile


def _keyframe_gaps(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [p.pts for p in container.demux(stream) if p.pts is not None and p.is_keyframe]
        time_base = stream.time_base
        rate = stream.average_rate
    assert time_base is not None and rate is not None
    seconds = [float(pts * time_base) for pts in frames]
    return [round((b - a) * float(rate)) for a, b in itertools.pairwise(seconds)]


def test_a_short_is_h264_high_profile_bt709_with_two_second_keyframes(tmp_path: Path) -> None:
    make_video("tide pools", "short", 6, tmp_path, speaker=ToneSpeaker())
    video = tmp_path / "video.mp4"

    assert h264_profile(str(video)) == "High"
    with av.open(str(video)) as container:
        context = container.streams.video[0].codec_context
        assert (context.pix_fmt, context.colorspace, context.color_range) == ("yuv420p", 1, 1)  # BT.709, TV
    assert _keyframe_gaps(video) and max(_keyframe_gaps(video)) <= 60  # 2 s at 30 fps


def test_a_decoded_short_moves_from_frame_to_frame(tmp_path: Path) -> None:
    make_video("tide pools", "short", 6, tmp_path, speaker=ToneSpeaker())

    with av.open(str(tmp_path / "video.mp4")) as container:
        lumas = [
            f.to_ndarray()[:1920].astype(np.int16)
            for _, f in zip(range(60), container.decode(video=0), strict=False)
        ]

    # The backdrop is redrawn every other frame (15 of 30 fps): each pair of frames two apart differs,
    # in the top tenth too, where no text ever is.
    moved = [float(np.abs(a[:192] - b[:192]).mean()) for a, b in zip(lumas, lumas[2:], strict=False)]
    assert min(moved) > 0.05, moved


def test_a_draft_render_uses_the_fast_preset(tmp_path: Path) -> None:
    script = write_script("tide pools", "short", 6, tmp_path)
    narration = narrate(script, tmp_path, ToneSpeaker())

    upload = render(narration, tmp_path / "upload")
    draft = render(narration, tmp_path / "draft", draft=True)

    assert draft.info.duration == upload.info.duration
    # ultrafast leaves out CABAC and the 8x8 transform: larger, Baseline-compatible, much quicker.
    assert h264_profile(str(tmp_path / "draft" / "video.mp4")) == "Constrained Baseline"
    assert draft.info.bytes > upload.info.bytes
    assert draft.frames_drawn < upload.frames_drawn / 2  # the backdrop moves in coarser steps


def test_long_sleepy_videos_afford_the_slower_preset_for_their_loop() -> None:
    from sf_media import spec_for
    from sf_media.encoder import x264_options

    sleepy = spec_for("sleepy")

    assert x264_options(sleepy, seconds=600)["preset"] == "veryfast"
    assert x264_options(sleepy, seconds=3600)["preset"] == "medium"
    assert x264_options(sleepy, seconds=3600, draft=True)["preset"] == "ultrafast"
    assert "bframes=0" in str(x264_options(sleepy)["x264-params"])  # the loop can be cut anywhere
    assert x264_options(spec_for("short"), seconds=3600)["preset"] == "ultrafast"  # with High tools
    assert "8x8dct=1" in str(x264_options(spec_for("short"))["x264-params"])
