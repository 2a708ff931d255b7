"""Fonts with wide Unicode coverage (Noto, SIL Open Font Licence), and a fallback chain per glyph run.

The fonts come from PyPI packages that `uv sync` installs (fontpkg-noto-sans: Latin, Greek, Cyrillic
in every weight; noto-cjk-sans-jp-*: Chinese, Japanese, Korean), so every machine draws the same
glyphs and no system font is ever needed. Pillow draws one font per call and never falls back, so a
`FontChain` splits text into runs, each drawn with the first font of the chain whose character map
covers it: "é, ü, ß — 潮" never turns into .notdef boxes.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError  # type: ignore[import-untyped]  # fontTools ships no types
from PIL import ImageDraw, ImageFont

from sf_media.errors import MediaError

log = logging.getLogger(__name__)

DEFAULT_FAMILY = "Noto Sans"
# From this weight on, the CJK fallback uses its bold file (the CJK fonts ship as two static weights).
BOLD_FROM = 600
MIN_WEIGHT, MAX_WEIGHT = 100, 900

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]


def _package_file(package: str, *parts: str) -> Path:
    try:
        importlib.import_module(package)
    except ImportError:
        raise MediaError(
            f"font package {package} is not installed; run `uv sync --locked` (it ships the Noto fonts)"
        ) from None
    path = Path(str(files(package).joinpath(*parts)))
    if not path.is_file():
        raise MediaError(f"font file {path} is missing; reinstall with `uv sync --locked --reinstall`")
    return path


def noto_sans() -> Path:
    """Noto Sans as one variable font (weight 100-900): Latin, Greek and Cyrillic."""
    return _package_file("fontpkg_noto_sans", "files", "NotoSans[wdth,wght].ttf")


def noto_cjk(weight: int) -> Path:
    if weight >= BOLD_FROM:
        return _package_file("noto_cjk_sans_jp_bold", "NotoSansCJKjp-Bold.otf")
    return _package_file("noto_cjk_sans_jp_regular", "NotoSansCJKjp-Regular.otf")


def family_files(family: str, weight: int) -> tuple[Path, ...]:
    """The fallback chain of a family: a family name, or a .ttf/.otf file followed by the Noto chain."""
    noto = (noto_sans(), noto_cjk(weight))
    if family == DEFAULT_FAMILY:
        return noto
    path = Path(family)
    if path.suffix.lower() in {".ttf", ".otf"}:
        if not path.is_file():
            raise MediaError(f"font file {family} does not exist")
        return (path, *noto)
    raise MediaError(f"unknown font family {family!r}; use {DEFAULT_FAMILY!r} or a path to a .ttf/.otf file")


@lru_cache(maxsize=16)
def coverage(path: Path) -> frozenset[int]:
    """Every code point the font's character map has a glyph for (read once per process)."""
    try:
        with TTFont(str(path), lazy=True) as parsed:
            cmap = parsed.getBestCmap()
    except (OSError, TTLibError) as exc:
        raise MediaError(f"cannot read font {path}: {exc}") from exc
    return frozenset(cmap or ())


@lru_cache(maxsize=128)
def face(path: Path, size: int, weight: int) -> ImageFont.FreeTypeFont:
    """One font file at one pixel size; a variable font is set to `weight`."""
    try:
        loaded = ImageFont.truetype(str(path), size)
    except OSError as exc:
        raise MediaError(f"cannot load font {path}: {exc}") from exc
    try:
        axes = loaded.get_variation_axes()
    except OSError:  # a static font has no axes
        return loaded
    values: list[float] = [
        min(max(weight, axis["minimum"] or 0), axis["maximum"] or weight)
        if axis["name"] == b"Weight"
        else (axis["default"] or 0)
        for axis in axes
    ]
    loaded.set_variation_by_axes(values)
    return loaded


@dataclass(frozen=True, slots=True)
class Run:
    text: str
    font: ImageFont.FreeTypeFont


class FontChain:
    """Fonts tried in order for each character, at one size and weight; measures and draws text."""

    def __init__(self, paths: tuple[Path, ...], size: int, weight: int) -> None:
        if not paths:
            raise MediaError("a font chain needs at least one font")
        self.paths = paths
        self.size = size
        self.weight = weight
        self._coverages: list[frozenset[int]] = []

    @property
    def primary(self) -> ImageFont.FreeTypeFont:
        return face(self.paths[0], self.size, self.weight)

    def _covers(self, index: int, char: str) -> bool:
        # Maps are read on first need: Latin-only text never pays for the CJK font's 45,000 entries.
        while len(self._coverages) <= index:
            self._coverages.append(coverage(self.paths[len(self._coverages)]))
        return ord(char) in self._coverages[index]

    def _font_index(self, char: str) -> int | None:
        for index in range(len(self.paths)):
            if self._covers(index, char):
                return index
        return None

    def runs(self, text: str) -> list[Run]:
        """`text` cut where the font changes: each character takes the first font that covers it
        (spaces stay in the run they are in), so Latin inside CJK text keeps the Latin design."""
        runs: list[tuple[int, list[str]]] = []
        for char in text:
            if runs and char.isspace():
                runs[-1][1].append(char)
                continue
            index = self._font_index(char)
            if index is None:
                index = 0  # nothing covers it: the primary's .notdef box, and `missing` reports it
            if runs and runs[-1][0] == index:
                runs[-1][1].append(char)
            else:
                runs.append((index, [char]))
        return [Run("".join(chars), face(self.paths[index], self.size, self.weight)) for index, chars in runs]

    def missing(self, text: str) -> set[str]:
        """Characters no font of the chain can draw (whitespace aside)."""
        return {c for c in text if not c.isspace() and self._font_index(c) is None}

    def getlength(self, text: str) -> float:
        return sum(run.font.getlength(run.text) for run in self.runs(text))

    def getmetrics(self) -> tuple[int, int]:
        """Ascent and descent of the primary font: line spacing stays the same whatever the script."""
        ascent, descent = self.primary.getmetrics()
        return int(ascent), int(descent)

    def getbbox(self, text: str, anchor: str = "la") -> tuple[float, float, float, float]:
        """Ink bounds of `text` drawn at (0, 0) with `anchor` ("la" left-ascender or "ls" left-baseline)."""
        baseline = self._baseline(anchor)
        x = 0.0
        boxes: list[tuple[float, float, float, float]] = []
        for run in self.runs(text):
            left, top, right, bottom = run.font.getbbox(run.text, anchor="ls")
            boxes.append((x + left, baseline + top, x + right, baseline + bottom))
            x += run.font.getlength(run.text)
        if not boxes:
            return (0.0, 0.0, 0.0, 0.0)
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )

    def draw(
        self,
        draw: ImageDraw.ImageDraw,
        xy: tuple[float, float],
        text: str,
        fill: int | RGB | RGBA,
        *,
        anchor: str = "la",
        stroke_width: int = 0,
        stroke_fill: int | RGB | RGBA | None = None,
    ) -> None:
        """Draw `text` run by run on one baseline; every outline first, so no outline covers a letter."""
        x, y = xy
        origins = list(self._origins(text, x, y + self._baseline(anchor)))
        if stroke_width > 0:
            outline = stroke_fill if stroke_fill is not None else fill
            for run, origin in origins:
                draw.text(
                    origin,
                    run.text,
                    font=run.font,
                    fill=outline,
                    anchor="ls",
                    stroke_width=stroke_width,
                    stroke_fill=outline,
                )
        for run, origin in origins:
            draw.text(origin, run.text, font=run.font, fill=fill, anchor="ls")

    def _origins(self, text: str, x: float, baseline: float) -> Iterable[tuple[Run, tuple[float, float]]]:
        for run in self.runs(text):
            yield run, (x, baseline)
            x += run.font.getlength(run.text)

    def _baseline(self, anchor: str) -> float:
        if anchor == "la":
            return float(self.getmetrics()[0])
        if anchor == "ls":
            return 0.0
        raise MediaError(f"unsupported text anchor {anchor!r}; use 'la' or 'ls'")


@lru_cache(maxsize=64)
def chain(size: int, weight: int = 400, family: str = DEFAULT_FAMILY) -> FontChain:
    """The font chain of `family` at `size` pixels and `weight` (100-900)."""
    if not MIN_WEIGHT <= weight <= MAX_WEIGHT:
        raise MediaError(f"font weight {weight} is outside {MIN_WEIGHT}-{MAX_WEIGHT}")
    if size < 1:
        raise MediaError(f"font size {size} must be at least 1 pixel")
    return FontChain(family_files(family, weight), size, weight)
