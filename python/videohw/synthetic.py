"""Deterministic synthetic frames: a moving test pattern for the CLI, the verifier and tests.

Frame ``i`` depends only on ``(i, width, height, format)``, so the verifier can regenerate
the exact source of an encode instead of storing it. The picture has real texture (smooth
colour gradients, soft vertical bars, a fine ripple) that scrolls horizontally, plus a
checkered box that bounces around, so every frame differs from the previous one and PSNR
against the source means something.

Layouts are those of docs/api.md "Frames and packets" with the minimum pitch:
ARGB8888 / BGRA / RGB24 -> ``(height, width, channels)``; NV12 / I420 -> ``(height * 3 // 2,
width)`` (Y rows, then the chroma bytes: interleaved UV rows for NV12, the U plane then the
V plane for I420).

Everything that does not move is computed once per ``(width, height, format)``; producing a
frame is one slice copy and one box paste per plane. This module needs numpy only (it does
not import the compiled core).
"""

from __future__ import annotations

import functools
from typing import Optional

import numpy as np

#: Input formats by their ``PixelFormat`` value.
FORMATS = ("argb8888", "bgra", "rgb24", "nv12", "i420")

# Byte order of each packed format, as indices into (R, G, B, A).
_PACKED_ORDER = {"argb8888": (3, 0, 1, 2), "bgra": (2, 1, 0, 3), "rgb24": (0, 1, 2)}
_YUV = ("nv12", "i420")

# Motion, in pixels per frame (even, so 4:2:0 chroma moves by whole samples).
_SCROLL_SPEED = 4
_BOX_SPEED_X, _BOX_SPEED_Y = 6, 4


def format_name(fmt: object) -> str:
    """``"argb8888"`` etc. from a ``PixelFormat`` member or its value string."""
    name = str(getattr(fmt, "value", fmt)).lower()
    if name not in FORMATS:
        raise ValueError(f"pixel format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return name


def frame_nbytes(width: int, height: int, fmt: object) -> int:
    """Bytes of one frame with the minimum pitch."""
    name = format_name(fmt)
    if name in _YUV:
        return width * height * 3 // 2
    return width * height * len(_PACKED_ORDER[name])


def frame_shape(width: int, height: int, fmt: object) -> tuple[int, ...]:
    """numpy shape of one frame as :func:`pattern_frame` returns it."""
    name = format_name(fmt)
    if name in _YUV:
        return (height * 3 // 2, width)
    return (height, width, len(_PACKED_ORDER[name]))


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _bounce(t: int, span: int) -> int:
    """Triangle wave 0 -> span -> 0 with period 2*span."""
    if span <= 0:
        return 0
    t %= 2 * span
    return t if t <= span else 2 * span - t


def _background_rgb(height: int, width: int, period: int) -> np.ndarray:
    """(height, width, 3) float32 RGB in 0..255, periodic in x with ``period``."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    phase = (2 * np.pi / period) * np.arange(width, dtype=np.float32)[None, :]
    bars = np.tanh(3.0 * np.sin(4 * phase))  # soft vertical bars
    ripple = np.sin(16 * phase) * np.sin(2 * np.pi * y * height / 12.0)  # fine texture
    grain = _grain(height, width, period)  # band-limited noise
    r = 120 + 70 * np.sin(phase + 3.0 * y) + 25 * bars + 12 * ripple + grain
    g = 35 + 170 * y + 20 * np.cos(2 * phase) + 12 * ripple + grain
    b = 128 + 80 * np.cos(phase - 2.0 * y) - 25 * bars + grain
    return np.clip(np.stack(np.broadcast_arrays(r, g, b), axis=-1), 0, 255)


def _grain(height: int, width: int, period: int, amplitude: float = 14.0) -> np.ndarray:
    """Seeded noise, blurred over 3x3 and tiled with ``period`` in x: texture that an
    encoder has to spend bits on, yet scrolls seamlessly."""
    noise = np.random.default_rng(20240611).random((height, period), dtype=np.float32) - 0.5
    blurred = (
        sum(np.roll(noise, (dy, dx), axis=(0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9.0
    )
    blurred *= amplitude / max(float(np.abs(blurred).max()), 1e-6)
    reps = -(-width // period)
    return np.tile(blurred, (1, reps))[:, :width]


def _box_rgb(height: int, width: int) -> np.ndarray:
    """(height, width, 3) float32 checkerboard of two saturated colours."""
    cell = max(2, min(width, height) // 4)
    yy, xx = np.mgrid[0:height, 0:width]
    check = ((yy // cell + xx // cell) % 2).astype(bool)[..., None]
    return np.where(
        check, np.array([235, 205, 40], np.float32), np.array([30, 70, 210], np.float32)
    )


def _to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, ...]:
    """BT.601 limited-range Y (full size) and U, V (2x2 averaged) as uint8 planes."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b

    def sub(p: np.ndarray) -> np.ndarray:
        h, w = p.shape
        return p.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    return tuple(np.rint(np.clip(p, 0, 255)).astype(np.uint8) for p in (y, sub(u), sub(v)))


def _to_packed(rgb: np.ndarray, name: str) -> np.ndarray:
    h, w, _ = rgb.shape
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = np.rint(rgb)
    rgba[..., 3] = 255
    return np.ascontiguousarray(rgba[..., list(_PACKED_ORDER[name])])


class PatternGenerator:
    """Frames of the moving pattern for one ``(width, height, format)``.

    The background is precomputed one scroll period wider than the frame; frame ``i`` is the
    window at offset ``(4 * i) % period`` with the box pasted at its position for ``i``.
    """

    def __init__(self, width: int, height: int, fmt: object) -> None:
        self.format = format_name(fmt)
        if width < 2 or height < 2:
            raise ValueError(f"pattern size {width}x{height}: both must be >= 2")
        if self.format in _YUV and (width % 2 or height % 2):
            raise ValueError(f"pattern size {width}x{height}: {self.format} needs even sizes")
        self.width, self.height = width, height
        self.nbytes = frame_nbytes(width, height, self.format)
        self.shape = frame_shape(width, height, self.format)
        self._period = _even(max(32, width // 2))
        self._box_w, self._box_h = _even(width // 5), _even(height // 4)
        background = _background_rgb(height, width + self._period, self._period)
        box = _box_rgb(self._box_h, self._box_w)
        # Planes: (Y, U, V) for the YUV formats, one packed plane for the others.
        self._bg: tuple[np.ndarray, ...]
        self._box: tuple[np.ndarray, ...]
        if self.format in _YUV:
            self._bg = _to_yuv420(background)
            self._box = _to_yuv420(box)
        else:
            self._bg = (_to_packed(background, self.format),)
            self._box = (_to_packed(box, self.format),)

    def __repr__(self) -> str:
        return f"PatternGenerator({self.width}x{self.height}, {self.format})"

    def _positions(self, index: int) -> tuple[int, int, int]:
        """Scroll offset and box top-left (x, y), all even."""
        offset = (_SCROLL_SPEED * index) % self._period
        x = 2 * _bounce(index * _BOX_SPEED_X // 2, (self.width - self._box_w) // 2)
        y = 2 * _bounce(index * _BOX_SPEED_Y // 2, (self.height - self._box_h) // 2)
        return offset, x, y

    def frame(self, index: int, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Frame ``index`` (>= 0); written into ``out`` (shape :attr:`shape`) when given."""
        if index < 0:
            raise ValueError(f"frame index {index}; must be >= 0")
        if out is None:
            out = np.empty(self.shape, np.uint8)
        elif out.shape != self.shape or out.dtype != np.uint8:
            raise ValueError(f"out has shape {out.shape} {out.dtype}; expected {self.shape} uint8")
        off, x, y = self._positions(index)
        w, h, bw, bh = self.width, self.height, self._box_w, self._box_h
        if self.format not in _YUV:
            out[...] = self._bg[0][:, off : off + w]
            out[y : y + bh, x : x + bw] = self._box[0]
            return out
        luma = out[:h]
        luma[...] = self._bg[0][:, off : off + w]
        luma[y : y + bh, x : x + bw] = self._box[0]
        planes = self._chroma_views(out)
        for dst, src, box in zip(planes, self._bg[1:], self._box[1:]):
            dst[...] = src[:, off // 2 : off // 2 + w // 2]
            dst[y // 2 : (y + bh) // 2, x // 2 : (x + bw) // 2] = box
        return out

    def _chroma_views(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Writable (U, V) views, (height/2, width/2) each, into a frame's chroma bytes."""
        h, w = self.height, self.width
        chroma = out[h:]
        if self.format == "nv12":
            uv = chroma.reshape(h // 2, w // 2, 2)
            return uv[..., 0], uv[..., 1]
        planes = chroma.reshape(2, h // 2, w // 2)
        return planes[0], planes[1]


@functools.lru_cache(maxsize=16)
def generator(width: int, height: int, fmt: object) -> PatternGenerator:
    """The cached :class:`PatternGenerator` for a size and format."""
    return PatternGenerator(width, height, format_name(fmt))


def pattern_frame(index: int, width: int, height: int, fmt: object) -> np.ndarray:
    """Frame ``index`` of the moving pattern as a new uint8 array (see the module doc)."""
    return generator(width, height, format_name(fmt)).frame(index)
