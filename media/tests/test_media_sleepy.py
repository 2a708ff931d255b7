"""A whole rendered sleepy video, decoded frame by frame: calm, text-free after its title, looped
without a seam, and free of banding in its dark gradients."""

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from sf_media import FrameSource, ToneSpeaker, make_video, spec_for
from sf_media.visuals import MAX_SLEEPY_LUMA_STEP, MAX_SLEEPY_PIXEL_STEP

Luma = npt.NDArray[np.int16]


@pytest.fixture(scope="module")
def sleepy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FrameSource]:
    out = tmp_path_factory.mktemp("sleepy")
    result = make_video("tide pools", "sleepy", 150, out, speaker=ToneSpeaker())
    frames = FrameSource(result.narration.script, spec_for("sleepy"))
    return out / "video.mp4", frames


def _lumas(path: Path) -> Iterator[Luma]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray()[: frame.height].astype(np.int16)


def flat_dark_blocks(y: npt.NDArray[np.integer]) -> float:
    """Share of dark 8x8 blocks that are one flat value (where a gradient would show bands)."""
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    blocks = y[:h, :w].reshape(h // 8, 8, w // 8, 8).astype(np.float32)
    dark = blocks.mean(axis=(1, 3)) < 48
    return float((blocks.std(axis=(1, 3))[dark] == 0).mean())


def test_no_frame_of_a_sleepy_video_jumps_in_brightness(sleepy: tuple[Path, FrameSource]) -> None:
    path, frames = sleepy
    steps: list[float] = []
    pixel_steps: list[float] = []
    previous: Luma | None = None
    count = 0
    for y in _lumas(path):
        count += 1
        if previous is not None:
            difference = y - previous
            steps.append(abs(float(difference.mean())))
            pixel_steps.append(float(np.percentile(np.abs(difference), 99.9)))
        previous = y

    assert count == frames.frame_count
    assert max(steps) <= MAX_SLEEPY_LUMA_STEP, max(steps)
    assert max(pixel_steps) <= MAX_SLEEPY_PIXEL_STEP, max(pixel_steps)


def test_after_its_title_a_sleepy_video_shows_no_text_and_loops_seamlessly(
    sleepy: tuple[Path, FrameSource],
) -> None:
    path, frames = sleepy
    loop = frames.loop
    assert loop is not None and loop.start <= 30 * frames.spec.fps  # text only in the first half minute
    decoded = list(_lumas(path))

    for index in range(loop.start, len(decoded), 7):
        # Against the text-free backdrop: only compression noise, never the ink of a letter.
        backdrop = frames.background(frames.key(index)[0]).y.astype(np.int16)
        assert np.percentile(np.abs(decoded[index] - backdrop), 99.99) < 12, index
    for index in range(loop.start + loop.frames, len(decoded)):
        assert np.array_equal(decoded[index], decoded[index - loop.frames]), index
    title = np.abs(decoded[8 * frames.spec.fps] - frames.background(frames.key(16)[0]).y.astype(np.int16))
    assert np.percentile(title, 99.9) > 40  # while the title is up, it is there


def test_a_decoded_sleepy_frame_shows_no_banding(sleepy: tuple[Path, FrameSource]) -> None:
    path, frames = sleepy
    decoded = list(_lumas(path))

    for index in (frames.frame_count // 3, frames.frame_count - 1):
        assert flat_dark_blocks(decoded[index]) < 0.3
