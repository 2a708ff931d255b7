"""How burned-in captions look: one `CaptionStyle` per format by default, overridable from JSON.

A job (or the worker's SF_CAPTION_STYLE setting) passes a dict of the fields it wants changed, e.g.
`{"highlight_colour": "#7CF29A", "position": "middle", "box": true}`; everything else keeps the
format's default. Bad input raises one MediaError naming the field, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sf_media.captions import CueRules
from sf_media.errors import MediaError
from sf_media.fonts import DEFAULT_FAMILY, MAX_WEIGHT, MIN_WEIGHT, family_files
from sf_media.formats import Format, FormatSpec

RGB = tuple[int, int, int]
POSITIONS = ("bottom", "middle", "top")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise MediaError(f"caption style: {name} must be within {low}-{high}, got {value}")


@dataclass(frozen=True, slots=True)
class CaptionStyle:
    """Sizes are fractions (of the frame's shorter side, or of the font size) so one style fits
    every aspect ratio."""

    font_family: str = DEFAULT_FAMILY  # "Noto Sans" or a .ttf/.otf path (Noto stays the fallback)
    font_weight: int = 700
    size: float = 0.05  # font size as a fraction of the frame's shorter side
    text_colour: RGB = (255, 255, 255)
    highlight_colour: RGB | None = None  # the word being spoken; None = no word highlight
    outline: float = 0.1  # outline width as a fraction of the font size; 0 = none
    outline_colour: RGB = (0, 0, 0)
    box: bool = False  # a rounded box behind the lines
    box_colour: RGB = (0, 0, 0)
    box_opacity: float = 0.5
    position: str = "bottom"  # bottom, middle or top of the safe area
    line_chars: int = 42  # characters per line, for the screen and captions.srt alike
    max_lines: int = 2
    until_seconds: float | None = None  # no captions from this time on (sleepy: only the start)

    def __post_init__(self) -> None:
        _check_range("font_weight", self.font_weight, MIN_WEIGHT, MAX_WEIGHT)
        _check_range("size", self.size, 0.01, 0.2)
        _check_range("outline", self.outline, 0.0, 0.3)
        _check_range("box_opacity", self.box_opacity, 0.0, 1.0)
        _check_range("line_chars", self.line_chars, 8, 80)
        _check_range("max_lines", self.max_lines, 1, 3)
        if self.position not in POSITIONS:
            raise MediaError(
                f"caption style: position must be one of {', '.join(POSITIONS)}, got {self.position!r}"
            )
        if self.until_seconds is not None and self.until_seconds < 0:
            raise MediaError(f"caption style: until_seconds must be >= 0, got {self.until_seconds}")
        if self.font_family != DEFAULT_FAMILY:
            family_files(self.font_family, self.font_weight)  # a bad family fails here, not mid-render

    @property
    def rules(self) -> CueRules:
        return CueRules(line_chars=self.line_chars, max_lines=self.max_lines)

    def font_px(self, spec: FormatSpec) -> int:
        return max(8, round(self.size * min(spec.width, spec.height)))

    def with_overrides(self, overrides: Mapping[str, Any]) -> CaptionStyle:
        """This style with the given fields replaced (validated, with clear errors)."""
        if not isinstance(overrides, Mapping):
            raise MediaError(f"caption style must be a JSON object, got {type(overrides).__name__}")
        known = {f.name: f for f in fields(CaptionStyle)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise MediaError(
                f"caption style: unknown field {unknown[0]!r}; expected some of {', '.join(sorted(known))}"
            )
        changes = {name: _coerce(name, value) for name, value in overrides.items()}
        return replace(self, **changes)


_DEFAULTS: dict[Format, CaptionStyle] = {
    # Shorts: one or two short lines, big and bold, the spoken word lit up (the style viewers expect).
    Format.SHORT: CaptionStyle(
        font_weight=800,
        size=0.075,
        highlight_colour=(255, 209, 102),
        outline=0.12,
        position="bottom",
        line_chars=16,
        max_lines=2,
    ),
    # Longform: sentence captions in the lower third on a soft box, like broadcast subtitles.
    Format.LONGFORM: CaptionStyle(
        font_weight=600, size=0.045, outline=0.06, box=True, box_opacity=0.45, position="bottom"
    ),
    # Sleepy: dim, thin and only while the listener settles in; then the screen holds no text.
    Format.SLEEPY: CaptionStyle(
        font_weight=400,
        size=0.04,
        text_colour=(142, 146, 178),
        outline=0.04,
        outline_colour=(8, 8, 20),
        position="bottom",
        until_seconds=180.0,
    ),
}


def default_style(spec: FormatSpec) -> CaptionStyle:
    return _DEFAULTS[spec.format]


def style_for(spec: FormatSpec, overrides: Mapping[str, Any] | str | None = None) -> CaptionStyle:
    """The format's default style with `overrides` (a dict, or JSON text of one) applied."""
    if overrides is None:
        return default_style(spec)
    if isinstance(overrides, str):
        overrides = parse_overrides(overrides)
    return default_style(spec).with_overrides(overrides)


def parse_overrides(text: str) -> dict[str, Any]:
    """JSON text of a caption style (an object of fields), checked against every format's default."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MediaError(
            f"caption style is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return check_overrides(data)


def check_overrides(data: Any) -> dict[str, Any]:
    """`data` if it is a valid set of style changes for every format; a MediaError otherwise."""
    if not isinstance(data, Mapping):
        raise MediaError(f"caption style must be a JSON object, got {type(data).__name__}")
    for style in _DEFAULTS.values():
        style.with_overrides(data)
    return dict(data)


_NULLABLE = {"highlight_colour", "until_seconds"}
_BOOLS = {"box"}
_INTS = {"font_weight", "line_chars", "max_lines"}
_NUMBERS = {"size", "outline", "box_opacity", "until_seconds"}


def _coerce(name: str, value: Any) -> Any:
    """A JSON value as the field's type, or a MediaError naming the field."""
    if value is None and name in _NULLABLE:
        return None
    if name.endswith("_colour"):
        return parse_colour(name, value)
    if name in _BOOLS:
        kind, ok = "true or false", isinstance(value, bool)
    elif name in _INTS:
        kind, ok = "a whole number", isinstance(value, int) and not isinstance(value, bool)
    elif name in _NUMBERS:
        kind, ok = "a number", isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        kind, ok = "a string", isinstance(value, str)
    if not ok:
        raise MediaError(f"caption style: {name} must be {kind}, got {value!r}")
    return value


def parse_colour(name: str, value: Any) -> RGB:
    """'#rrggbb' or '#rgb' as an RGB triple."""
    text = value.strip().lstrip("#") if isinstance(value, str) else ""
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    try:
        if len(text) != 6:
            raise ValueError(text)
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        raise MediaError(f"caption style: {name} must be a colour like '#ffd166', got {value!r}") from None
