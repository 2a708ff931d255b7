import numpy as np
import pytest
from sf_media import FrameSource, Scene, TemplateScriptWriter, safe_area, spec_for
from sf_media.layout import Box


def _ink_box(frames: FrameSource, scene: Scene) -> Box:
    """Bounding box of every pixel the text changed (frame versus its bare background)."""
    frame = np.asarray(frames.render(scene), dtype=np.int16)
    background = np.asarray(frames.background(scene.background_step), dtype=np.int16)
    ys, xs = np.nonzero(np.abs(frame - background).max(axis=2) > 24)
    assert len(xs), "no text was drawn"
    return Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


@pytest.mark.parametrize(
    ("fmt", "size"), [("short", (1080, 1920)), ("longform", (1920, 1080)), ("sleepy", (1920, 1080))]
)
def test_every_scene_is_full_size_with_its_text_inside_the_safe_area(fmt: str, size: tuple[int, int]) -> None:
    spec = spec_for(fmt)
    script = TemplateScriptWriter().write("tide pools", fmt, 45)
    frames = FrameSource(script, spec)
    slide = frames.scene_at(script.sentences()[0].start + 0.1)
    scenes = [frames.scene_at(0.0), slide]  # long captions: test_caption_overlay.py

    for scene in scenes:
        assert frames.render(scene).size == size
        layout = frames.layout(scene)
        for block in (layout.heading, layout.body):
            assert block is None or safe_area(spec).contains(block.box)
        assert safe_area(spec).contains(_ink_box(frames, scene))


def test_scenes_are_lazy_and_identical_frames_are_not_redrawn() -> None:
    spec = spec_for("sleepy")
    script = TemplateScriptWriter().write("the moon", "sleepy", 3600)
    frames = FrameSource(script, spec)

    scenes = frames.scenes()  # a generator: nothing is drawn or stored up front
    distinct = {scene for _, scene in scenes}

    assert frames.frame_count == 3600 * spec.fps
    assert len(distinct) < frames.frame_count / 4


def test_the_sleepy_background_drifts_slowly() -> None:
    spec = spec_for("sleepy")
    frames = FrameSource(TemplateScriptWriter().write("the moon", "sleepy", 3600), spec)

    now = np.asarray(frames.background(0), dtype=np.int16)
    next_step = np.asarray(frames.background(1), dtype=np.int16)
    later = np.asarray(frames.background(100), dtype=np.int16)

    assert np.abs(now - next_step).max() <= 3  # no visible jump between steps
    assert np.abs(now - later).max() > 5  # but it does change over minutes
    assert now.mean() < 40  # and stays dim
