"""Dark gradients are dithered on their way to 8 bits, so they show no bands (issue 13)."""

import numpy as np
from sf_media.yuv import Planes, rgb_to_yuv, yuv_to_rgb


def _flat_blocks(y: np.ndarray) -> float:
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    blocks = y[:h, :w].reshape(h // 8, 8, w // 8, 8).astype(np.float32)
    return float((blocks.std(axis=(1, 3)) == 0).mean())


def test_a_slow_dark_gradient_is_dithered_not_banded() -> None:
    # A night-sky ramp: only a few 8-bit levels across the whole width of a 1080p frame.
    ramp = np.linspace(0.02, 0.06, 240, dtype=np.float32)[None, :, None]
    small = np.broadcast_to(ramp, (135, 240, 3)).copy()

    y = Planes.from_small_rgb(small, 1920, 1080).y

    assert _flat_blocks(y) < 0.05  # neighbouring pixels mix the two nearest levels...
    columns = y.astype(np.float64).mean(axis=0)
    steps = np.abs(np.diff(np.convolve(columns, np.ones(32) / 32, mode="valid")))
    assert steps.max() < 0.2  # ...so, averaged as the eye does, the ramp climbs smoothly


def test_yuv_conversion_round_trips() -> None:
    rgb = np.random.default_rng(1).random((4, 6, 3)).astype(np.float32)

    back = yuv_to_rgb(*rgb_to_yuv(rgb))

    assert np.allclose(back, rgb, atol=1e-5)


def test_a_dark_longform_backdrop_keeps_its_dither_through_the_encoder() -> None:
    """x264 at the format's settings must not flatten the dithered dark areas back into bands."""
    import io

    import av
    from sf_media import FrameSource, TemplateScriptWriter, spec_for
    from sf_media.encoder import add_video_stream

    spec = spec_for("longform")
    frames = FrameSource(TemplateScriptWriter().write("tide pools", "longform", 60), spec)
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = add_video_stream(container, spec)
        for index in range(300, 330):
            picture = frames.picture(index).video_frame()
            picture.pts = index
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    out.seek(0)
    with av.open(out, "r") as reader:
        decoded = [f.to_ndarray()[: spec.height] for f in reader.decode(video=0)]

    y = decoded[-5]
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    blocks = y[:h, :w].reshape(h // 8, 8, w // 8, 8).astype(np.float32)
    dark = blocks.mean(axis=(1, 3)) < 48
    assert dark.mean() > 0.3  # the test means something: much of the frame is dark
    assert float((blocks.std(axis=(1, 3))[dark] == 0).mean()) < 0.4
