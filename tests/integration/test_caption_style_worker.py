"""A worker told a bad SF_CAPTION_STYLE stops at start with one clear line, before taking any job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SF = str(Path(sys.executable).parent / "sf")


def test_a_media_worker_with_an_unknown_caption_style_field_stops_with_one_error_line(
    sf_env: dict[str, str],
) -> None:
    env = {**sf_env, "SF_HANDLERS": "media", "SF_CAPTION_STYLE": '{"wobble": 1}', "SF_LOG_LEVEL": "WARNING"}

    result = subprocess.run(
        [SF, "worker", "--stage", "visuals"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("sf: error: ")]
    assert errors == [
        "sf: error: invalid setting SF_CAPTION_STYLE: caption style: unknown field 'wobble'; "
        "expected some of box, box_colour, box_opacity, font_family, font_weight, highlight_colour, "
        "line_chars, max_lines, outline, outline_colour, position, size, text_colour, until_seconds"
    ], result.stderr
