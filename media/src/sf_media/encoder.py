"""x264 settings for upload: H.264 High profile, quality-based rate (CRF), BT.709, upload-sized GOPs.

YouTube's upload guidance asks for High profile, a closed GOP of about half the frame rate's worth of
seconds (we use `spec.keyint_seconds`), yuv420p and BT.709. `draft=True` swaps in the format's draft
preset (much faster, larger file, may fall back to Baseline features) for previews.
"""

from __future__ import annotations

import av
from av.container import OutputContainer
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc
from av.video.stream import VideoStream

from sf_media.formats import FormatSpec


def x264_options(
    spec: FormatSpec, *, draft: bool = False, preset: str | None = None, seconds: float = 0.0
) -> dict[str, object]:
    """Encoder options for a video of `seconds` (longer sleepy videos afford a slower preset)."""
    keyint = max(1, round(spec.keyint_seconds * spec.fps))
    params = [f"keyint={keyint}", f"min-keyint={max(1, keyint // 2)}", "open-gop=0"]
    params.append(f"aq-mode={spec.aq_mode}")
    if spec.loop_seconds is not None:
        # No B-frames: decode order equals display order, so the repeated loop can be cut anywhere.
        # A short lookahead: at 1080p each lookahead frame costs x264 several MB, and a slow loop
        # gains little from planning 40 frames ahead (keeps a 1-hour sleepy render under 300 MB).
        params += ["bframes=0", "rc-lookahead=10"]
    chosen = preset or (spec.draft_preset if draft else spec.x264_preset)
    if preset is None and not draft and spec.long_video_preset and seconds >= spec.long_video_from_seconds:
        chosen = spec.long_video_preset
    # "name+key=value:key=value" is a preset with a few of its settings overridden.
    name, _, tweaks = chosen.partition("+")
    if tweaks:
        params.append(tweaks)
    return {
        "preset": name,
        "crf": str(spec.crf),
        "profile": "high",
        "x264-params": ":".join(params),
    }


def add_video_stream(
    container: OutputContainer,
    spec: FormatSpec,
    *,
    draft: bool = False,
    preset: str | None = None,
    seconds: float = 0.0,
) -> VideoStream:
    video = container.add_stream("libx264", rate=spec.fps)
    video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
    video.codec_context.gop_size = max(1, round(spec.keyint_seconds * spec.fps))
    video.codec_context.colorspace = Colorspace.ITU709
    video.codec_context.color_primaries = ColorPrimaries.BT709
    video.codec_context.color_trc = ColorTrc.BT709
    video.codec_context.color_range = ColorRange.MPEG
    video.options = x264_options(spec, draft=draft, preset=preset, seconds=seconds)
    return video


def h264_profile(path: str) -> str:
    """The profile the file's H.264 stream declares (e.g. "High")."""
    with av.open(path) as container:
        return str(container.streams.video[0].codec_context.profile)
