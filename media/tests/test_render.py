from pathlib import Path

import av
import numpy as np
import pytest
from sf_media import Narration, ToneSpeaker, make_video, probe
from sf_media.mix import rms_dbfs


def _decoded_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([frame.to_ndarray() for frame in container.decode(audio=0)], axis=1)


@pytest.mark.parametrize(("fmt", "size", "fps"), [("short", (1080, 1920), 30), ("sleepy", (1920, 1080), 2)])
def test_a_five_second_video_is_h264_and_aac_of_the_right_size_length_and_loudness(
    tmp_path: Path, fmt: str, size: tuple[int, int], fps: int
) -> None:
    result = make_video("tide pools", fmt, 5, tmp_path, speaker=ToneSpeaker())

    info = probe(tmp_path / "video.mp4")
    expected = result.narration.script.duration
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == size
    assert info.fps == fps
    assert info.duration == pytest.approx(expected, abs=0.5)
    assert info.faststart
    assert result.render.info == info
    audio = _decoded_audio(tmp_path / "video.mp4")
    assert audio.shape[0] == 2
    assert audio.shape[1] / 48_000 == pytest.approx(expected, abs=0.5)
    assert rms_dbfs(audio) > -40.0
    assert float(np.abs(audio).max()) < 1.0


def test_the_job_directory_holds_what_each_stage_needs(tmp_path: Path) -> None:
    make_video("tide pools", "short", 5, tmp_path, speaker=ToneSpeaker())

    narration = Narration.load(tmp_path)

    for name in ("script.json", "script.md", "captions.srt", "thumbnail.png", "video.mp4"):
        assert (tmp_path / name).is_file(), name
    assert len(narration.utterances) == len(narration.script.sentences()) > 0
    assert all(u.path.is_file() for u in narration.utterances)
    assert not list(tmp_path.glob("*.partial.mp4"))


def test_a_render_told_to_stop_stops_early_and_leaves_no_file(tmp_path: Path) -> None:
    from sf_media import narrate, render, write_script
    from sf_media.errors import RenderCancelledError

    script = write_script("tide pools", "short", 20, tmp_path)
    narration = narrate(script, tmp_path, ToneSpeaker())
    asked: list[int] = []

    def stop_on_third_question() -> bool:
        asked.append(1)
        return len(asked) >= 3

    with pytest.raises(RenderCancelledError):
        render(narration, tmp_path / "render", should_stop=stop_on_third_question)

    assert len(asked) == 3  # asked once per second of video, and stopped at once
    assert not list((tmp_path / "render").glob("*.mp4"))


def test_narrating_and_rendering_report_their_progress(tmp_path: Path) -> None:
    """What the audio and render handlers pass on to their heartbeat (issue 14: progress)."""
    from sf_media import narrate, render, write_script

    script = write_script("tide pools", "sleepy", 60, tmp_path)
    spoken: list[tuple[float, str]] = []
    narration = narrate(script, tmp_path, ToneSpeaker(), on_progress=lambda f, n: spoken.append((f, n)))
    encoded: list[tuple[float, str]] = []
    render(narration, tmp_path / "render", on_progress=lambda f, n: encoded.append((f, n)))

    sentences = len(script.sentences())
    assert [f for f, _ in spoken] == [done / sentences for done in range(1, sentences + 1)]
    assert spoken[-1][1] == f"spoke {sentences} of {sentences} sentences"
    fractions = [f for f, _ in encoded]
    assert fractions == sorted(fractions) and fractions[0] == 0 and 0.9 < fractions[-1] < 1
    assert len(encoded) >= 50  # about once per second of video
    assert encoded[1][1].startswith("encoded 1 of ") and encoded[1][1].endswith(" s of video")
