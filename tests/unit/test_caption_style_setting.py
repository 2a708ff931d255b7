"""SF_CAPTION_STYLE: the shape is checked with the other settings, the fields when a worker starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sf_worker.handlers import handler_for
from sf_worker.handlers.media_stages import RenderStage, VisualsStage
from sleepy_factory.config import Settings, load_settings
from sleepy_factory.errors import ConfigError

SF = str(Path(sys.executable).parent / "sf")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("SF_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


def test_a_caption_style_that_is_not_a_json_object_is_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_CAPTION_STYLE", "yellow")

    with pytest.raises(ConfigError, match=r"invalid setting SF_CAPTION_STYLE .*JSON object"):
        load_settings()


def test_sf_reports_a_bad_caption_style_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_") and k != "DATABASE_URL"}
    env |= {"SF_DATA_DIR": str(tmp_path), "SF_CAPTION_STYLE": "yellow"}

    result = subprocess.run(
        [SF, "list-jobs"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if line.startswith("sf: error: ")
    ]
    assert "SF_CAPTION_STYLE" in result.stderr


@pytest.mark.parametrize(
    ("style", "message"),
    [
        ('{"wobble": 1}', "unknown field 'wobble'"),
        ('{"highlight_colour": "gold"}', "highlight_colour must be a colour"),
        ('{"size": ', "not valid JSON"),
    ],
)
def test_a_worker_with_bad_caption_style_fields_stops_at_start(style: str, message: str) -> None:
    settings = Settings(caption_style=style)

    with pytest.raises(ConfigError, match=f"invalid setting SF_CAPTION_STYLE: caption style.*{message}"):
        handler_for("visuals", settings)


def test_the_caption_style_reaches_the_visuals_and_render_stages() -> None:
    settings = Settings(caption_style='{"position": "middle", "highlight_colour": "#7cf29a"}')

    for stage in ("visuals", "render"):
        handler = handler_for(stage, settings)
        assert isinstance(handler, VisualsStage | RenderStage)
        assert handler._options.caption_style == {"position": "middle", "highlight_colour": "#7cf29a"}
    assert VisualsStage()._options.caption_style is None
