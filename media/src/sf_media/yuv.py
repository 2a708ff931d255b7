"""Pictures as BT.709 limited-range YUV 4:2:0 planes, built straight from small float fields.

The backdrop is computed small (an eighth of the frame) as 16-bit RGB and handed to FFmpeg's
swscale, which converts, upscales and rounds it to 8-bit yuv420p in one SIMD pass; its ordered
dither spreads the sixteen bits' precision over neighbouring pixels, so slow dark gradients show no
bands. (Doing the same in numpy costs ten times more per frame.) Text arrives as `Overlay`s:
premultiplied YUV plus alpha for just the box the text covers, blended in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import ColorRange, Colorspace, Interpolation
from PIL import Image, ImageChops

Floats = npt.NDArray[np.floating[Any]]
Bytes = npt.NDArray[np.uint8]

# BT.709 luma weights and the limited ("MPEG") range the encoder is told about.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB


def rgb_to_yuv(rgb: Floats) -> tuple[Floats, Floats, Floats]:
    """R'G'B' in [0, 1] (h, w, 3) -> Y in [16, 235], Cb/Cr in [16, 240] (float, same size)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = _KR * r + _KG * g + _KB * b
    cb = (b - y) / (2 * (1 - _KB))
    cr = (r - y) / (2 * (1 - _KR))
    return (
        (16 + 219 * y).astype(np.float32),
        (128 + 224 * cb).astype(np.float32),
        (128 + 224 * cr).astype(np.float32),
    )


def yuv_to_rgb(y: Floats, cb: Floats, cr: Floats) -> Floats:
    """The inverse of `rgb_to_yuv` (for tests and thumbnails), clipped to [0, 1]."""
    yy = (y - 16) / 219
    pb, pr = (cb - 128) / 224, (cr - 128) / 224
    r = yy + 2 * (1 - _KR) * pr
    b = yy + 2 * (1 - _KB) * pb
    g = (yy - _KR * r - _KB * b) / _KG
    return np.clip(np.stack([r, g, b], axis=-1), 0.0, 1.0).astype(np.float32)


@dataclass(slots=True)
class Planes:
    """One yuv420p picture in one (h * 3/2, w) uint8 buffer: Y, then U and V (h/2, w/2) each."""

    data: Bytes

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def height(self) -> int:
        return int(self.data.shape[0]) * 2 // 3

    @property
    def y(self) -> Bytes:
        return self.data[: self.height]

    def _chroma(self, number: int) -> Bytes:
        quarter = self.height * self.width // 4
        flat = self.data[self.height :].reshape(-1)
        return flat[number * quarter : (number + 1) * quarter].reshape(self.height // 2, self.width // 2)

    @property
    def u(self) -> Bytes:
        return self._chroma(0)

    @property
    def v(self) -> Bytes:
        return self._chroma(1)

    @classmethod
    def from_small_rgb(cls, rgb: Floats, width: int, height: int) -> Planes:
        """Upscale a small R'G'B' field in [0, 1] (h, w, 3) to a full-size, dithered picture."""
        deep = (np.clip(rgb, 0.0, 1.0) * 65535 + 0.5).astype(np.uint16)
        small = av.VideoFrame.from_ndarray(np.ascontiguousarray(deep), format="rgb48le")
        big = small.reformat(
            width=width,
            height=height,
            format="yuv420p",
            dst_colorspace=Colorspace.ITU709,
            dst_color_range=ColorRange.MPEG,
            interpolation=Interpolation.BICUBIC,
        )
        return cls(np.array(big.to_ndarray(), dtype=np.uint8, copy=True))

    def copy(self) -> Planes:
        return Planes(self.data.copy())

    def video_frame(self) -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(self.data, format="yuv420p")

    def to_rgb(self) -> Image.Image:
        """An RGB image of the picture (chroma upsampled by repetition), for thumbnails and tests."""
        u = self.u.repeat(2, axis=0).repeat(2, axis=1).astype(np.float32)
        v = self.v.repeat(2, axis=0).repeat(2, axis=1).astype(np.float32)
        rgb = yuv_to_rgb(self.y.astype(np.float32), u, v)
        return Image.fromarray((rgb * 255 + 0.5).astype(np.uint8), "RGB")


@dataclass(frozen=True, slots=True)
class Overlay:
    """Text (or anything drawn) over a picture: premultiplied YUV and alpha inside one box.

    The box's left and top are even so the chroma planes line up with luma.
    """

    left: int
    top: int
    y: Floats  # premultiplied luma (h, w)
    alpha: Floats  # (h, w) in [0, 1]
    u: Floats  # premultiplied chroma (h/2, w/2)
    v: Floats
    alpha_half: Floats

    def blend(self, planes: Planes, opacity: float = 1.0) -> None:
        """Composite onto `planes` in place: out = overlay + (1 - alpha) * picture."""
        if opacity <= 0.0:
            return
        h, w = self.alpha.shape
        region = planes.y[self.top : self.top + h, self.left : self.left + w]
        keep = 1.0 - self.alpha * opacity
        region[...] = np.clip(self.y * opacity + region * keep + 0.5, 0, 255).astype(np.uint8)
        top, left = self.top // 2, self.left // 2
        hh, ww = self.alpha_half.shape
        keep_half = 1.0 - self.alpha_half * opacity
        for plane, premult in ((planes.u, self.u), (planes.v, self.v)):
            sub = plane[top : top + hh, left : left + ww]
            sub[...] = np.clip(premult * opacity + sub * keep_half + 0.5, 0, 255).astype(np.uint8)


def overlay_from_drawing(width: int, height: int, draw: Callable[[Image.Image], None]) -> Overlay | None:
    """Capture whatever `draw` paints on an RGB frame as an overlay (None if it paints nothing).

    `draw` runs twice, on a black and on a white frame: where the two results differ, the frame shows
    through, which gives alpha; the black result is the premultiplied colour. This works for any
    drawing composited "over" the frame (text, outlines, translucent boxes) without knowing how it
    was drawn.
    """
    black = Image.new("RGB", (width, height), (0, 0, 0))
    white = Image.new("RGB", (width, height), (255, 255, 255))
    draw(black)
    draw(white)
    inverted = ImageChops.invert(white)
    boxes = [box for box in (black.getbbox(), inverted.getbbox()) if box is not None]
    if not boxes:
        return None
    left = min(b[0] for b in boxes) // 2 * 2
    top = min(b[1] for b in boxes) // 2 * 2
    right = min(width, (max(b[2] for b in boxes) + 1) // 2 * 2)
    bottom = min(height, (max(b[3] for b in boxes) + 1) // 2 * 2)
    crop = (left, top, right, bottom)
    on_black = np.asarray(black.crop(crop), dtype=np.float32) / 255
    on_white = np.asarray(white.crop(crop), dtype=np.float32) / 255
    alpha = np.clip(1.0 - (on_white - on_black).mean(axis=2), 0.0, 1.0).astype(np.float32)
    return _premultiplied(left, top, on_black, alpha)


def _premultiplied(left: int, top: int, colour: Floats, alpha: Floats) -> Overlay:
    """`colour` is already premultiplied R'G'B' in [0, 1]; YUV's offsets scale with alpha."""
    y, cb, cr = rgb_to_yuv(colour)
    h, w = alpha.shape
    half = alpha.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    def pooled(plane: Floats) -> Floats:
        means: Floats = plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return means

    # rgb_to_yuv added the full offsets (16, 128); a premultiplied pixel carries only alpha of them.
    y_pre = y - 16 + 16 * alpha
    u_pre = pooled(cb - 128) + 128 * half
    v_pre = pooled(cr - 128) + 128 * half
    return Overlay(
        left,
        top,
        y_pre.astype(np.float32),
        alpha,
        u_pre.astype(np.float32),
        v_pre.astype(np.float32),
        half.astype(np.float32),
    )
