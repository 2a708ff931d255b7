"""What one video may choose beyond its topic, format and length; None means the format's default.

The worker's stage handlers build this from a job's params; the library never reads the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sf_media.errors import MediaError

# Frame sizes per aspect ratio: the platforms' native upload sizes.
ASPECT_SIZES: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "16:9": (1920, 1080),
    "1:1": (1080, 1080),
}
# Speaking rate as a multiple of the voice's natural pace (1.0); beyond these, speech smears or drags.
MIN_SPEAKING_RATE = 0.5
MAX_SPEAKING_RATE = 2.0


@dataclass(frozen=True, slots=True)
class VideoOptions:
    aspect: str | None = None
    voice: str | None = None
    speaking_rate: float = 1.0
    # Caption style fields to change from the format's default (see caption_style.CaptionStyle).
    caption_style: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.aspect is not None and self.aspect not in ASPECT_SIZES:
            raise MediaError(
                f"unknown aspect ratio {self.aspect!r}; expected one of {', '.join(ASPECT_SIZES)}"
            )
        if not MIN_SPEAKING_RATE <= self.speaking_rate <= MAX_SPEAKING_RATE:
            raise MediaError(
                f"speaking rate {self.speaking_rate} is outside {MIN_SPEAKING_RATE}-{MAX_SPEAKING_RATE}"
            )
        if self.caption_style is not None:
            # Imported here: caption_style needs formats, which needs this module's aspect sizes.
            from sf_media.caption_style import check_overrides

            check_overrides(self.caption_style)
