"""Frames to encode: the synthetic pattern or a raw file, checked against the size and
format given (a raw file does not say what it holds)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np

from .. import synthetic, verify
from ._errors import EXIT_FAIL, CliError, _warn

DEFAULT_SIZE = (1280, 720)
DEFAULT_SYNTHETIC_FRAMES = 300


@dataclass
class _Input:
    """Where frames come from: the synthetic pattern or a raw file."""

    format: str
    width: int
    height: int
    n_frames: int
    path: Optional[str] = None

    @property
    def description(self) -> str:
        if self.path is None:
            return f"synthetic pattern ({self.format})"
        return f"{self.path} ({self.format})"

    def frames(self) -> Iterator[np.ndarray]:
        """Frame arrays in order; the same buffer is reused (submit copies the pixels)."""
        if self.path is None:
            gen = synthetic.generator(self.width, self.height, self.format)
            buf = np.empty(gen.shape, np.uint8)
            for i in range(self.n_frames):
                yield gen.frame(i, out=buf)
            return
        buf = np.empty(synthetic.frame_shape(self.width, self.height, self.format), np.uint8)
        view = memoryview(buf).cast("B")
        with open(self.path, "rb") as f:
            for i in range(self.n_frames):
                if f.readinto(view) != len(view):
                    raise CliError(f"{self.path}: ended early, at frame {i}", EXIT_FAIL)
                yield buf

    def raw_source(self, fps: Fraction) -> verify.RawSource:
        if self.path is None:
            return verify.RawSource.synthetic(
                self.format, self.width, self.height, self.n_frames, fps
            )
        return verify.RawSource.from_file(self.path, self.format, self.width, self.height, fps)


def _make_input(args: argparse.Namespace) -> _Input:
    if args.input is None:
        width, height = args.size or DEFAULT_SIZE
        return _Input(
            args.input_format or "argb8888", width, height, args.frames or DEFAULT_SYNTHETIC_FRAMES
        )
    if args.input_format is None or args.size is None:
        raise CliError(
            "--input needs --input-format and --size (a raw file does not say what it holds)"
        )
    width, height = args.size
    fmt = args.input_format
    try:
        frame_bytes = synthetic.frame_nbytes(width, height, fmt)
        file_bytes = os.path.getsize(args.input)
    except OSError as exc:
        raise CliError(f"--input {args.input}: {exc.strerror or exc}") from exc
    if file_bytes % frame_bytes:
        fits = _sizes_that_fit(file_bytes, width, height, fmt)
        hint = "".join(
            f"; it is exactly {n} frame{'s' * (n != 1)} of {w}x{h}" for w, h, n in fits[:3]
        )
        raise CliError(
            f"--input {args.input}: {file_bytes} bytes is not a whole number of "
            f"{width}x{height} {fmt} frames ({frame_bytes} bytes each; "
            f"{file_bytes // frame_bytes} frames and {file_bytes % frame_bytes} "
            f"bytes left over){hint}"
        )
    n = file_bytes // frame_bytes
    if n == 0:
        raise CliError(f"--input {args.input}: the file is empty")
    _warn_other_sizes(args.input, file_bytes, width, height, fmt)
    if args.frames:
        n = min(n, args.frames)
    return _Input(fmt, width, height, n, path=args.input)


# Frame sizes raw files often hold. With the declared size doubled, halved and turned they
# are the sizes --input checks a file against: a file is read with the size given, so a
# wrong --size encodes a scrambled picture without any error.
_COMMON_SIZES = (
    (3840, 2160),
    (2560, 1440),
    (1920, 1080),
    (1280, 720),
    (1024, 768),
    (960, 540),
    (854, 480),
    (800, 600),
    (720, 576),
    (720, 480),
    (640, 480),
    (640, 360),
    (352, 288),
    (320, 240),
    (176, 144),
)

# A size whose rows differ from their neighbours by less than this share of the declared
# size's is taken as the likelier one. Rows read at a wrong width mix pieces of different
# picture rows (twice the width: a row and the one below it side by side; half: the halves
# of one row stacked), so they differ from their neighbours several times as much.
_SMOOTHER = 0.5
_ROWS_COMPARED = 256


def _other_sizes(width: int, height: int, fmt: str) -> list[tuple[int, int]]:
    """Plausible sizes other than ``width`` x ``height``: double, half (same aspect ratio),
    turned, and the common ones; 4:2:0 formats only at even sizes."""
    sizes = [(width * 2, height * 2), (height, width), *_COMMON_SIZES]
    if width % 2 == 0 and height % 2 == 0:
        sizes.insert(1, (width // 2, height // 2))
    yuv = fmt in ("nv12", "i420")
    out = []
    for size in dict.fromkeys(sizes):
        if size != (width, height) and not (yuv and (size[0] % 2 or size[1] % 2)):
            out.append(size)
    return out


def _sizes_that_fit(
    file_bytes: int, width: int, height: int, fmt: str
) -> list[tuple[int, int, int]]:
    """(width, height, frames) of every other plausible size the file is a whole number of
    frames of."""
    out = []
    for w, h in _other_sizes(width, height, fmt):
        nbytes = synthetic.frame_nbytes(w, h, fmt)
        if file_bytes >= nbytes and file_bytes % nbytes == 0:
            out.append((w, h, file_bytes // nbytes))
    return out


def _row_roughness(data: np.ndarray, width: int, height: int, fmt: str) -> float:
    """Mean absolute difference between neighbouring rows of the first frame read at
    ``width`` x ``height`` (the Y plane of 4:2:0 formats)."""
    row = width if fmt in ("nv12", "i420") else synthetic.frame_nbytes(width, 1, fmt)
    rows = min(height, _ROWS_COMPARED)
    picture: np.ndarray = data[: row * rows].reshape(rows, row).astype(np.int16)
    return float(np.abs(np.diff(picture, axis=0)).mean()) if rows > 1 else 0.0


def _warn_other_sizes(path: str, file_bytes: int, width: int, height: int, fmt: str) -> None:
    """A warning when the file is also a whole number of frames of another plausible size
    whose rows line up clearly better than the declared size's."""
    fits = [f for f in _sizes_that_fit(file_bytes, width, height, fmt) if f[1] > 1]
    if not fits or height < 2:
        return
    frame_bytes = synthetic.frame_nbytes(width, height, fmt)
    longest = max(frame_bytes, *(synthetic.frame_nbytes(w, h, fmt) for w, h, _ in fits))
    try:
        data = np.fromfile(path, np.uint8, count=longest)
    except OSError as exc:
        raise CliError(f"--input {path}: {exc.strerror or exc}", EXIT_FAIL) from exc
    declared = _row_roughness(data, width, height, fmt)
    best, w, h, n = min((_row_roughness(data, w, h, fmt), w, h, n) for w, h, n in fits)
    if best < _SMOOTHER * declared:
        frames = file_bytes // frame_bytes
        _warn(
            f"--input {path}: read as {frames} frame{'s' * (frames != 1)} of "
            f"{width}x{height} {fmt}, but the file is also exactly {n} "
            f"frame{'s' * (n != 1)} of {w}x{h}, whose rows line up better; is --size "
            "right?"
        )
