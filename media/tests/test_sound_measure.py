import json
from pathlib import Path

import pytest
from sf_media import ToneSpeaker, make_video
from sf_media.measure import main


def test_measuring_a_job_directory_reports_loudness_peak_and_the_floor_between_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_video("tide pools", "sleepy", 60, tmp_path, speaker=ToneSpeaker())

    assert main([str(tmp_path)]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["sample_rate"] == 48_000
    assert report["integrated_lufs"] == pytest.approx(-25.0, abs=1.0)
    assert report["true_peak_dbtp"] <= -1.0
    assert report["true_peak_dbtp"] == pytest.approx(report["our_true_peak_dbtp"], abs=0.2)
    assert report["between_sentences_median_100ms_dbfs"] < report["speech_median_100ms_dbfs"]


@pytest.mark.parametrize("name", ["missing.mp4", "not-a-video.mp4"])
def test_a_file_that_is_not_a_video_gets_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    if name == "not-a-video.mp4":
        (tmp_path / name).write_text("hello")

    assert main([str(tmp_path / name)]) == 1

    err = capsys.readouterr().err
    assert err.startswith("sf: error: ") and err.count("\n") == 1
