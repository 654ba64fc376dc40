"""Media files: ``probe``, the ``MediaInfo`` it returns and ``MediaReader`` (packets).

Frames by index come from ``videohw.VideoReader`` (reader.py); writing files from
``videohw.MediaWriter`` / ``VideoWriter`` (writer.py). See docs/media.md.
"""

from __future__ import annotations

import io
import operator
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, BinaryIO, Optional, Union

from . import _core
from .contract import Codec, EncodedLayout
from .decoding import ColorInfo
from .errors import InvalidMediaError, SessionClosedError

Source = Union[str, "os.PathLike[str]", BinaryIO]

__all__ = ["MediaInfo", "StreamInfo", "VideoStreamInfo", "MediaPacket", "MediaReader", "probe"]


@dataclass(frozen=True)
class StreamInfo:
    """Any stream of a container: its index, kind ("video", "audio", "subtitle", "data",
    "attachment", "unknown"), codec name and duration."""

    index: int
    kind: str
    codec_name: str
    duration_seconds: Optional[float]


@dataclass(frozen=True)
class VideoStreamInfo:
    """One video stream as the container (and, once counted, its packets) describe it.

    ``frame_count`` is exact when ``frame_count_exact`` (counted from every packet);
    otherwise it is the container's own claim, 0 when it has none. ``rotation`` is the
    display matrix's angle in degrees counter-clockwise (ffprobe's side-data "rotation":
    -90 means shown turned a quarter clockwise), None without a matrix.
    """

    index: int
    codec: Optional[Codec]
    codec_name: str
    width: int
    height: int
    pixel_format: str
    bit_depth: int
    avg_fps: Optional[Fraction]
    real_fps: Optional[Fraction]
    time_base: Optional[Fraction]
    start_seconds: Optional[float]
    duration_seconds: Optional[float]
    frame_count: int
    frame_count_exact: bool
    keyframe_count: int
    color: ColorInfo
    rotation: Optional[float]
    sample_aspect_ratio: Optional[Fraction]
    layout: EncodedLayout
    timed: bool = True
    extradata: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class MediaInfo:
    """What ``probe`` found: the container and every stream."""

    path: str
    format_name: str
    format_long_name: str
    duration_seconds: Optional[float]
    bit_rate: int
    size_bytes: int
    streams: tuple[StreamInfo, ...]
    video_streams: tuple[VideoStreamInfo, ...]
    best_video: Optional[VideoStreamInfo]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (what ``videohw probe --json`` prints)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Fraction):
                return f"{value.numerator}/{value.denominator}"
            if isinstance(value, (Codec, EncodedLayout)):
                return value.value
            if isinstance(value, bytes):
                return len(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items() if k != "extradata"}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        out = plain(asdict(self))
        out["best_video"] = None if self.best_video is None else self.best_video.index
        return out


@dataclass(frozen=True, eq=False)
class MediaPacket:
    """One packet of a video stream. ``data`` is Annex-B for H.264/HEVC (length-prefixed
    samples converted, the decoder configuration's parameter sets in front of the first
    keyframe), as stored for other codecs. Timestamps are in ``time_base`` units."""

    data: bytes = field(repr=False)
    pts: Optional[int]
    dts: Optional[int]
    duration: int
    is_keyframe: bool
    discard: bool
    corrupt: bool
    pos: int
    stream_index: int
    time_base: Optional[Fraction]
    layout: EncodedLayout

    @property
    def seconds(self) -> Optional[float]:
        """pts in seconds, or None."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    def __repr__(self) -> str:
        key = ", keyframe" if self.is_keyframe else ""
        return (
            f"MediaPacket({len(self.data)} bytes, pts={self.pts}, dts={self.dts}, "
            f"stream={self.stream_index}{key})"
        )


def _fraction(pair: Optional[tuple[int, int]]) -> Optional[Fraction]:
    return None if pair is None else Fraction(pair[0], pair[1])


def video_stream_info(d: dict[str, Any]) -> VideoStreamInfo:
    """A VideoStreamInfo from the core's dict (shared with reader.py)."""
    time_base = _fraction(d["time_base"])
    start = d["start_pts"]
    return VideoStreamInfo(
        index=d["index"],
        codec=None if d["codec"] is None else Codec(d["codec"]),
        codec_name=d["codec_name"],
        width=d["width"],
        height=d["height"],
        pixel_format=d["pixel_format"],
        bit_depth=d["bit_depth"],
        avg_fps=_fraction(d["avg_fps"]),
        real_fps=_fraction(d["real_fps"]),
        time_base=time_base,
        start_seconds=None if start is None or time_base is None else float(start * time_base),
        duration_seconds=d["duration_seconds"],
        frame_count=d["frame_count"],
        frame_count_exact=d["frame_count_exact"],
        keyframe_count=d["keyframe_count"],
        color=ColorInfo(d["primaries"], d["transfer"], d["matrix"], d["full_range"]),
        rotation=d["rotation"],
        sample_aspect_ratio=_fraction(d["sample_aspect_ratio"]),
        layout=EncodedLayout(d["layout"]),
        timed=d["timed"],
        extradata=d["extradata"],
    )


def media_info(d: dict[str, Any]) -> MediaInfo:
    """A MediaInfo from the core's dict (shared with reader.py)."""
    video = tuple(video_stream_info(v) for v in d["video_streams"])
    best = next((v for v in video if v.index == d["best_video_stream"]), None)
    return MediaInfo(
        path=d["name"],
        format_name=d["format_name"],
        format_long_name=d["format_long_name"],
        duration_seconds=d["duration_seconds"],
        bit_rate=d["bit_rate"],
        size_bytes=d["size_bytes"],
        streams=tuple(
            StreamInfo(s["index"], s["kind"], s["codec_name"], s["duration_seconds"])
            for s in d["streams"]
        ),
        video_streams=video,
        best_video=best,
    )


def open_source(source: Any, call: str) -> tuple[Any, str]:
    """(what the core opens, the name errors use): a path is checked here so a missing one
    is a FileNotFoundError and a folder an InvalidMediaError, both naming it."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not isinstance(path, str):
            raise TypeError(f"{call}: a bytes path; expected str or os.PathLike[str]")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{call}: {path}: no such file")
        if os.path.isdir(path):
            raise InvalidMediaError(f"{path}: is a directory, not a media file")
        return path, path
    if callable(getattr(source, "read", None)):
        # The core reads bytes; a text stream's str would surface as an I/O error.
        if isinstance(source, io.TextIOBase):
            raise TypeError(
                f"{call}: source is a text file object ({type(source).__name__}); "
                "expected a binary one: open(path, 'rb')"
            )
        name = getattr(source, "name", None)
        return source, name if isinstance(name, str) else "<file object>"
    raise TypeError(
        f"{call}: source is a {type(source).__name__}; expected a path or a binary "
        "file object with read()"
    )


def probe(source: Source) -> MediaInfo:
    """The container and its streams, with exact frame and keyframe counts of every video
    stream (a packet scan, no decoding). ``source``: a path or a binary file object."""
    target, name = open_source(source, "probe")
    return media_info(_core.probe(target, name))


class MediaReader:
    """Packets of one video stream of a file, in decode order (``stream``: default the
    best video stream). Iterate, or call ``read_packet()`` until it returns None."""

    def __init__(self, source: Source, stream: Optional[int] = None) -> None:
        target, self.name = open_source(source, "MediaReader")
        self._lock = threading.Lock()
        self._source: Any = _core.MediaSource(target, self.name)
        self.info = media_info(self._source.info())
        self.stream = select_video_stream(self.info, stream)
        self._source.select(self.stream.index)
        self._layout = (
            EncodedLayout.ANNEX_B
            if self.stream.codec in (Codec.H264, Codec.HEVC)
            else self.stream.layout
        )

    def __repr__(self) -> str:
        state = "closed" if self._source is None else "open"
        return (
            f"MediaReader({self.name!r}, stream={self.stream.index}, "
            f"{self.stream.codec_name} {self.stream.width}x{self.stream.height}, {state})"
        )

    def read_packet(self) -> Optional[MediaPacket]:
        with self._lock:
            if self._source is None:
                raise SessionClosedError(f"MediaReader({self.name!r}) is closed")
            raw = self._source.read_packet(True)
        if raw is None:
            return None
        return MediaPacket(
            data=raw["data"],
            pts=raw["pts"],
            dts=raw["dts"],
            duration=raw["duration"],
            is_keyframe=raw["is_keyframe"],
            discard=raw["discard"],
            corrupt=raw["corrupt"],
            pos=raw["pos"],
            stream_index=self.stream.index,
            time_base=self.stream.time_base,
            layout=self._layout,
        )

    def __iter__(self) -> Iterator[MediaPacket]:
        while True:
            packet = self.read_packet()
            if packet is None:
                return
            yield packet

    def rewind(self) -> None:
        """Back to the first packet."""
        with self._lock:
            if self._source is None:
                raise SessionClosedError(f"MediaReader({self.name!r}) is closed")
            self._source.rewind()

    def close(self) -> None:
        with self._lock:
            self._source = None

    def __enter__(self) -> MediaReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def select_video_stream(info: MediaInfo, stream: Optional[int]) -> VideoStreamInfo:
    """The requested (or best) video stream; InvalidMediaError naming what the file has."""
    if stream is None:
        if info.best_video is None:
            kinds = ", ".join(f"{s.index}: {s.kind} ({s.codec_name})" for s in info.streams)
            raise InvalidMediaError(
                f"{info.path}: no video stream"
                + (f" (streams: {kinds})" if kinds else " (no streams)")
            )
        return info.best_video
    try:
        if isinstance(stream, bool) or type(stream).__name__ == "bool_":
            raise TypeError
        stream = operator.index(stream)  # numpy's integers too
    except TypeError:
        raise TypeError(f"stream: {stream!r}; expected a stream index (int) or None") from None
    for v in info.video_streams:
        if v.index == stream:
            return v
    raise InvalidMediaError(
        f"{info.path}: stream {stream} is not a video stream; video "
        f"streams: {[v.index for v in info.video_streams]}"
    )
