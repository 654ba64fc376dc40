"""An independent check of encoded streams: Debian's ffprobe / ffmpeg, never videohw.

- ``probe_frames(stream, codec)`` decodes an Annex-B H.264/HEVC elementary stream (a path,
  ``bytes`` or a list of packets) with ffprobe and returns one ``ProbedFrame(width, height,
  key_frame, pict_type)`` per decoded picture, in presentation order.
- ``keyframe_indices(frames)`` and ``check_keyframes(frames, expected)``: where the decoder saw
  keyframes; the check raises ``StreamMismatch`` saying which indices differ.
- ``decode_raw(stream, codec, width, height, pix_fmt)`` decodes with the ffmpeg CLI to raw
  pictures (numpy, one row per frame), and ``psnr(...)`` compares them with the source.
- ``ffprobe_json(path, entries)`` and ``packet_count(path, stream)``: what ffprobe says of a
  container file (its frames, packets or streams; how many packets a stream has).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

FFPROBE = shutil.which("ffprobe") or "ffprobe"
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"

# Raw elementary-stream demuxer names of ffmpeg, by codec value ("h264" / "hevc").
_DEMUXERS = {"h264": "h264", "hevc": "hevc"}

StreamLike = Union[str, os.PathLike, bytes, bytearray, Sequence]


def ffprobe_json(
    path: Union[str, os.PathLike], entries: str, stream: Optional[str] = "v:0", timeout: int = 60
) -> dict:
    """ffprobe's JSON for ``-show_entries ENTRIES`` (``"frame=pts_time"``,
    ``"packet=pos,size"``, ``"stream=codec_type"``) of ``path``; ``stream``: a
    ``-select_streams`` spec, None for every stream. An ffprobe error fails the test."""
    cmd = [FFPROBE, "-v", "error"]
    if stream is not None:
        cmd += ["-select_streams", stream]
    out = subprocess.run(
        [*cmd, "-show_entries", entries, "-of", "json", os.fspath(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def packet_count(path: Union[str, os.PathLike], stream: str = "v:0", timeout: int = 60) -> int:
    """Packets of one stream as ffprobe reads them (0 when the file has no such stream)."""
    cmd = [FFPROBE, "-v", "error", "-select_streams", stream, "-count_packets"]
    out = subprocess.run(
        [*cmd, "-show_entries", "stream=nb_read_packets", "-of", "json", os.fspath(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr
    streams = json.loads(out.stdout).get("streams", [])
    return int(streams[0]["nb_read_packets"]) if streams else 0


class StreamMismatch(AssertionError):
    """The decoded stream is not what the test expected."""


@dataclass(frozen=True)
class ProbedFrame:
    width: int
    height: int
    key_frame: bool
    pict_type: str  # "I", "P", "B" (as ffprobe reports it)


def _codec_name(codec: object) -> str:
    name = getattr(codec, "value", codec)
    name = str(name).lower()
    if name not in _DEMUXERS:
        raise ValueError(f"ffprobe_check: codec {codec!r}; expected h264 or hevc")
    return name


def stream_bytes(stream: StreamLike) -> bytes:
    """Bytes of an Annex-B stream given as bytes, a path, or packets (objects with .data)."""
    if isinstance(stream, (bytes, bytearray)):
        return bytes(stream)
    if isinstance(stream, (str, os.PathLike)):
        with open(stream, "rb") as f:
            return f.read()
    return b"".join(bytes(p.data) if hasattr(p, "data") else bytes(p) for p in stream)


class _StreamFile:
    """A path ffprobe/ffmpeg can read: the given path, or a temporary file of the bytes."""

    def __init__(self, stream: StreamLike) -> None:
        self._tmp = None
        if isinstance(stream, (str, os.PathLike)):
            self.path = os.fspath(stream)
        else:
            fd, self.path = tempfile.mkstemp(suffix=".es")
            with os.fdopen(fd, "wb") as f:
                f.write(stream_bytes(stream))
            self._tmp = self.path

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self._tmp:
            os.unlink(self._tmp)


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, timeout=120)
    if proc.returncode != 0 or proc.stderr.strip():
        raise StreamMismatch(
            f"{os.path.basename(cmd[0])} failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace')[-2000:]}"
        )
    return proc


def probe_frames(stream: StreamLike, codec: object) -> list[ProbedFrame]:
    """Every decoded picture of an Annex-B stream, in presentation (output) order.

    Any message from the decoder at level "error" fails the probe: a broken stream is an
    error, not a silently concealed or shortened frame list.
    """
    with _StreamFile(stream) as path:
        proc = _run(
            [
                FFPROBE,
                "-v",
                "error",
                "-f",
                _DEMUXERS[_codec_name(codec)],
                "-i",
                path,
                "-show_frames",
                "-show_entries",
                "frame=width,height,key_frame,pict_type",
                "-of",
                "json",
            ]
        )
    frames = json.loads(proc.stdout or b"{}").get("frames", [])
    return [
        ProbedFrame(
            int(f["width"]),
            int(f["height"]),
            bool(int(f["key_frame"])),
            str(f.get("pict_type", "?")),
        )
        for f in frames
    ]


def keyframe_indices(frames: Iterable[ProbedFrame]) -> list[int]:
    return [i for i, f in enumerate(frames) if f.key_frame]


def check_keyframes(frames: Sequence[ProbedFrame], expected: Iterable[int]) -> None:
    """Raises StreamMismatch unless the keyframes are exactly at ``expected`` indices."""
    want = sorted(set(expected))
    got = keyframe_indices(frames)
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        raise StreamMismatch(
            f"keyframes at {got}, expected {want} "
            f"(missing {missing}, unexpected {extra}) in {len(frames)} frames"
        )


def check_frames(frames: Sequence[ProbedFrame], count: int, width: int, height: int) -> None:
    """Raises StreamMismatch unless there are ``count`` frames, all ``width`` x ``height``."""
    if len(frames) != count:
        raise StreamMismatch(f"{len(frames)} decoded frames, expected {count}")
    wrong = [
        (i, f.width, f.height)
        for i, f in enumerate(frames)
        if (f.width, f.height) != (width, height)
    ]
    if wrong:
        raise StreamMismatch(f"frames not {width}x{height}: {wrong[:10]}")


_BYTES_PER_FRAME = {"yuv420p": lambda w, h: w * h * 3 // 2, "rgb24": lambda w, h: w * h * 3}


def decode_raw(
    stream: StreamLike, codec: object, width: int, height: int, pix_fmt: str = "yuv420p"
) -> np.ndarray:
    """Decodes with the ffmpeg CLI to raw ``pix_fmt`` pictures: shape (frames, bytes)."""
    if pix_fmt not in _BYTES_PER_FRAME:
        raise ValueError(
            f"decode_raw: pix_fmt {pix_fmt!r}; expected one of {sorted(_BYTES_PER_FRAME)}"
        )
    with _StreamFile(stream) as path:
        # passthrough: one output picture per decoded picture, none dropped or duplicated.
        proc = _run(
            [
                FFMPEG,
                "-v",
                "error",
                "-xerror",
                "-f",
                _DEMUXERS[_codec_name(codec)],
                "-i",
                path,
                "-fps_mode",
                "passthrough",
                "-f",
                "rawvideo",
                "-pix_fmt",
                pix_fmt,
                "-",
            ]
        )
    per_frame = _BYTES_PER_FRAME[pix_fmt](width, height)
    raw = np.frombuffer(proc.stdout, dtype=np.uint8)
    if raw.size % per_frame:
        raise StreamMismatch(
            f"decoded {raw.size} bytes, not a whole number of {width}x{height} {pix_fmt} frames"
        )
    return raw.reshape(-1, per_frame)


def psnr_db(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR (dB, 8-bit peak) of two equally shaped arrays; inf when identical."""
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(decoded, dtype=np.float64)
    if a.shape != b.shape:
        raise StreamMismatch(f"PSNR of shapes {a.shape} and {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def psnr(
    stream: StreamLike,
    codec: object,
    reference: Sequence[np.ndarray],
    width: int,
    height: int,
    pix_fmt: str = "yuv420p",
) -> list[float]:
    """Per-frame PSNR of the decoded stream against ``reference`` (one array per frame, in
    ``pix_fmt`` layout, tightly packed). The frame counts must match."""
    decoded = decode_raw(stream, codec, width, height, pix_fmt)
    if len(decoded) != len(reference):
        raise StreamMismatch(f"{len(decoded)} decoded frames, {len(reference)} reference frames")
    return [
        psnr_db(np.asarray(ref, dtype=np.uint8).reshape(-1), dec)
        for ref, dec in zip(reference, decoded)
    ]
