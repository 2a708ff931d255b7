"""Slow procedural backdrops, computed small with numpy and upscaled by `yuv.Planes`.

Two looks, both smooth enough that an eighth of the frame's resolution carries them:
- `Glow` (shorts, longform): soft coloured lights drifting over a vertical gradient, with bokeh-like
  motes rising through it, seen by a camera that slowly zooms and pans (Ken Burns).
- `Aurora` (sleepy): dim curtains of light that sway and breathe over a near-black sky, with faint
  motes. Every motion term is periodic in the loop length, so frame t and frame t + loop are equal and
  one rendered loop can repeat for hours without a seam.

Gaussian lights are separable (exp(-dx^2) * exp(-dy^2)), so all of them together cost one small
matrix product per colour channel instead of one full-frame exponential per light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sf_media.palette import RGB, Palette
from sf_media.yuv import Floats

TAU = 2 * math.pi


def _colour(rgb: RGB) -> Floats:
    return np.array(rgb, dtype=np.float32) / 255


@dataclass(frozen=True, slots=True)
class Camera:
    """Ken Burns: how far the view has zoomed in and drifted (in frame heights) at one moment."""

    zoom: float = 1.0
    pan_x: float = 0.0
    pan_y: float = 0.0


class _Grid:
    """Sample coordinates of the small field: x across [0, aspect], y down [0, 1] (round lights at
    any aspect ratio)."""

    def __init__(self, width: int, height: int, scale: int) -> None:
        self.w = max(8, round(width / scale))
        self.h = max(8, round(height / scale))
        self.aspect = width / height
        self.xs = np.linspace(0.0, self.aspect, self.w, dtype=np.float32)
        self.ys = np.linspace(0.0, 1.0, self.h, dtype=np.float32)

    def view(self, camera: Camera) -> tuple[Floats, Floats]:
        """The x and y sample positions seen through the camera (zoom about the centre)."""
        xs = self.aspect / 2 + (self.xs - self.aspect / 2) / camera.zoom + camera.pan_x
        ys = 0.5 + (self.ys - 0.5) / camera.zoom + camera.pan_y
        return xs.astype(np.float32), ys.astype(np.float32)


def _lights(
    xs: Floats, ys: Floats, centres: tuple[Floats, Floats], radius: Floats, colours: Floats
) -> Floats:
    """Sum of gaussian lights (n centres, n radii, n x 3 colours) on the grid: (h, w, 3)."""
    cx, cy = centres
    gx = np.exp(-(((xs[None, :] - cx[:, None]) / radius[:, None]) ** 2))  # (n, w)
    gy = np.exp(-(((ys[None, :] - cy[:, None]) / radius[:, None]) ** 2))  # (n, h)
    # Plain einsum, not a BLAS matmul: the arrays are tiny, and OpenBLAS's threads spin for
    # milliseconds on a busy machine.
    tinted = gx.astype(np.float32)[:, :, None] * colours[:, None, :]  # (n, w, 3)
    summed: Floats = np.einsum("nh,nwc->hwc", gy.astype(np.float32), tinted)
    return summed


class Glow:
    """Drifting soft lights and rising motes; `variant` reshuffles them for each section."""

    def __init__(
        self, width: int, height: int, palette: Palette, seed: int, *, liveliness: float, scale: int = 8
    ) -> None:
        self.grid = _Grid(width, height, scale)
        self.palette = palette
        self.seed = seed
        self.liveliness = liveliness  # 1.0 = shorts; smaller is calmer and slower
        deep, mid = _colour(palette.deep), _colour(palette.mid)
        ramp = self.grid.ys[:, None, None]
        self._base = (deep * (1 - ramp) + mid * ramp).astype(np.float32)  # (h, 1, 3)

    def _setup(self, variant: int) -> tuple[np.random.Generator, Floats, Floats]:
        rng = np.random.default_rng([self.seed, variant])
        glow, highlight = _colour(self.palette.glow), _colour(self.palette.highlight)
        first, second = (glow, highlight) if variant % 2 == 0 else (highlight, glow)
        return rng, first, second

    def small_rgb(self, t: float, variant: int, camera: Camera) -> Floats:
        rng, first, second = self._setup(variant)
        xs, ys = self.grid.view(camera)
        aspect = self.grid.aspect
        speed = 0.05 * self.liveliness
        n = 5
        phase = rng.uniform(0, TAU, (2, n))
        freq = rng.uniform(0.6, 1.4, (2, n)) * speed
        home_x = rng.uniform(0.1, 0.9, n) * aspect
        home_y = rng.uniform(0.15, 0.95, n)
        cx = home_x + 0.25 * aspect * np.sin(TAU * freq[0] * t + phase[0])
        cy = home_y + 0.2 * np.cos(TAU * freq[1] * t + phase[1])
        radius = rng.uniform(0.22, 0.42, n)
        mix = rng.uniform(0.0, 1.0, n)[:, None]
        strength = rng.uniform(0.3, 0.5, n)[:, None]
        colours = (first * (1 - mix) + second * mix) * strength
        light = _lights(xs, ys, (cx, cy), radius, colours.astype(np.float32))

        motes = 28
        mx0 = rng.uniform(0, aspect, motes)
        my0 = rng.uniform(0, 1.2, motes)
        rise = rng.uniform(0.01, 0.03, motes) * self.liveliness
        mx = mx0 + 0.03 * np.sin(TAU * 0.05 * t + mx0 * 7)
        my = (my0 - rise * t) % 1.3 - 0.15
        size = rng.uniform(0.009, 0.018, motes)
        twinkle = 0.5 + 0.5 * np.sin(TAU * rng.uniform(0.03, 0.08, motes) * t + mx0 * 11)
        glints = (0.25 + 0.35 * twinkle)[:, None] * second[None, :]
        light += _lights(xs, ys, (mx, my), size, glints.astype(np.float32))
        # Screen-like blend: lights brighten the base but never clip to flat white.
        lifted: Floats = (1.0 - (1.0 - self._base) * np.exp(-light * 1.2)).astype(np.float32)
        return lifted


class Aurora:
    """Dim aurora curtains over a dark sky; periodic in `loop_seconds` (one seamless loop)."""

    def __init__(
        self, width: int, height: int, palette: Palette, seed: int, *, loop_seconds: float, scale: int = 8
    ) -> None:
        self.grid = _Grid(width, height, scale)
        self.palette = palette
        self.loop = loop_seconds
        rng = np.random.default_rng(seed)
        self._bands = [
            (rng.uniform(0.25, 0.7), rng.uniform(0.05, 0.12), rng.uniform(0, TAU), rng.uniform(0.08, 0.16))
            for _ in range(3)
        ]
        self._motes = (
            rng.uniform(0, self.grid.aspect, 14),
            rng.uniform(0.05, 0.95, 14),
            rng.uniform(0, TAU, 14),
        )
        deep, mid = _colour(palette.deep), _colour(palette.mid)
        ramp = (self.grid.ys**1.5)[:, None, None]
        self._sky = (mid * (1 - ramp) * 0.6 + deep * ramp).astype(np.float32)

    def small_rgb(self, t: float) -> Floats:
        cycle = TAU * (t % self.loop) / self.loop  # whole turns per loop keep it seamless
        xs, ys = self.grid.xs, self.grid.ys
        glow, highlight = _colour(self.palette.glow), _colour(self.palette.highlight)
        total = np.zeros((self.grid.h, self.grid.w, 3), np.float32)
        for number, (centre, sway, phase, width) in enumerate(self._bands):
            k = number + 1
            line = centre + sway * np.sin(TAU * xs / (0.9 + 0.3 * k) + phase + cycle * k) * 0.6
            line += 0.03 * np.sin(TAU * xs * 2.3 + phase * 2 - cycle)
            curtain = np.exp(-(((ys[:, None] - line[None, :]) / width) ** 2))
            breathe = 0.65 + 0.35 * np.sin(TAU * xs / 1.7 + phase - cycle * (1 + number % 2))
            colour = glow if number % 2 == 0 else highlight
            total += (curtain * breathe[None, :])[:, :, None] * colour * 0.9
        mx, my, mphase = self._motes
        sway_x = mx + 0.02 * np.sin(cycle + mphase)
        sway_y = my + 0.015 * np.cos(cycle * 2 + mphase)
        brightness = (0.2 + 0.15 * np.sin(cycle * 3 + mphase))[:, None] * highlight[None, :]
        total += _lights(xs, ys, (sway_x, sway_y), np.full(14, 0.01), brightness.astype(np.float32))
        sky: Floats = np.clip(self._sky + total, 0.0, 1.0).astype(np.float32)
        return sky
