"""Writing encoded video into files (docs/media_writer.md).

- :class:`MediaWriter` puts :class:`EncodedPacket` objects from any encode session into an
  MP4, fragmented MP4, Matroska, MPEG-TS or raw Annex-B file.
- :class:`VideoWriter` encodes frames through an encode session and writes them.

Both write under a temporary name beside the requested one and rename on ``close()``; an
``abort()``, an exception inside ``with``, or a writer dropped without ``close()`` leaves no
file behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional, Union

import numpy as np

from . import _args, _convert, _core
from .contract import (
    Codec,
    CommonEncodeConfig,
    EncodedPacket,
    EncoderSessionHandle,
    Frame,
    PixelFormat,
    SessionSwitchRequest,
    Telemetry,
)
from .controller import BackendConfig, SessionController
from .errors import ConfigError, InvalidFrameError, InvalidTypeError

PathLike = Union[str, "os.PathLike[str]"]
TimeBase = Union[Fraction, tuple[int, int], None]

FORMATS = ("mp4", "fmp4", "mkv", "ts", "annexb")


@dataclass(frozen=True)
class SegmentInfo:
    """One file of a writer's output. Timestamps are the packets' own, as given."""

    path: str  # final name
    temp_path: str  # where it is written until close()
    codec: Codec
    width: int
    height: int
    first_generation: int
    packets: int
    first_pts: int  # smallest pts written to it
    last_pts: int  # largest pts written to it
    finished: bool  # complete and renamed to ``path``


def _positive_int(name: str, value: Any) -> int:
    # The muxer keeps sizes and rates in C++ ints.
    return _args.integer("MediaWriter", name, value, 1, _args.INT32_MAX)


def _time_base(value: TimeBase) -> tuple[int, int]:
    if value is None:
        return 0, 0
    if isinstance(value, Fraction):
        num, den = value.numerator, value.denominator
    elif isinstance(value, tuple) and len(value) == 2:
        num, den = value
    else:
        raise InvalidTypeError(
            f"MediaWriter: time_base {value!r} is a {type(value).__name__}; expected a "
            "Fraction, a (num, den) tuple or None (one tick per frame)"
        )
    return (
        _args.integer("MediaWriter", "time_base numerator", num, 1, _args.INT32_MAX),
        _args.integer("MediaWriter", "time_base denominator", den, 1, _args.INT32_MAX),
    )


class MediaWriter:
    """Writes encoded packets into a file; the container comes from the extension (or
    ``format``: "mp4", "fmp4", "mkv", "ts", "annexb").

    Packets are Annex-B access units in decode order, the first one a keyframe with its
    parameter sets, with pts/dts in ``time_base`` (default: one tick per frame, i.e.
    ``fps_den/fps_num``). A change of parameter sets (another size, another codec) starts a
    new file ``<stem>.seg<N><ext>`` for MP4 and Matroska; MPEG-TS and Annex-B carry on in
    the same file except on a codec change.

    ``faststart`` (MP4) puts the index before the samples; ``fragment_ms`` (fragmented
    MP4) is the shortest fragment: one ends at the first keyframe after that long.
    The folder is checked at once: an unwritable one raises ``MediaError`` naming the path.
    """

    def __init__(
        self,
        path: PathLike,
        codec: Union[Codec, str],
        width: int,
        height: int,
        fps_num: int = 30,
        fps_den: int = 1,
        *,
        format: Optional[str] = None,
        time_base: TimeBase = None,
        faststart: bool = True,
        fragment_ms: int = 1000,
    ) -> None:
        _args.instance("MediaWriter", "path", path, (str, os.PathLike))
        self._path = os.fspath(path)
        if not isinstance(self._path, str):
            raise InvalidTypeError(
                f"MediaWriter: path {path!r} is a bytes path; expected a "
                "text path (str or os.PathLike[str])"
            )
        if "\0" in self._path:
            raise ConfigError(f"MediaWriter: path {self._path!r} holds a NUL character")
        codec = _args.member("MediaWriter", "codec", Codec, codec)
        _args.choice("MediaWriter", "format", format, FORMATS, optional=True)
        config = _core.MuxerConfig()
        config.codec = _convert._core_enum(_core.Codec, codec)
        config.width = _positive_int("width", width)
        config.height = _positive_int("height", height)
        config.fps_num = _positive_int("fps_num", fps_num)
        config.fps_den = _positive_int("fps_den", fps_den)
        config.time_base_num, config.time_base_den = _time_base(time_base)
        config.format = format
        config.faststart = _args.boolean("MediaWriter", "faststart", faststart)
        config.fragment_ms = _args.integer(
            "MediaWriter", "fragment_ms", fragment_ms, 0, _args.INT32_MAX
        )
        self._codec = codec
        self._size = (width, height)
        self._muxer = _core.Muxer(self._path, config)
        self._aborted = False

    # -- writing ---------------------------------------------------------------------

    def write_packet(self, packet: EncodedPacket) -> None:
        """Writes one packet. A packet that is refused (wrong layout, no keyframe first,
        timestamps out of order) raises and leaves the file as it was."""
        _args.instance("MediaWriter.write_packet", "packet", packet, (EncodedPacket,))
        self._muxer.write(
            packet.data,
            packet.pts,
            packet.dts,
            packet.is_keyframe,
            packet.generation,
            _convert._core_enum(_core.EncodedLayout, packet.layout),
        )

    def close(self) -> list[str]:
        """Finishes every file and renames it to its final name; returns the final paths
        (none when no packet was written: then no file is left). Closing again returns the
        same list."""
        return list(self._muxer.close())

    def abort(self) -> None:
        """Removes every file written so far; nothing is left under a requested name."""
        self._aborted = True
        self._muxer.abort()

    # -- state -----------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self._path

    @property
    def format(self) -> str:
        return self._muxer.format

    @property
    def closed(self) -> bool:
        return self._muxer.closed

    @property
    def segments(self) -> list[SegmentInfo]:
        return [SegmentInfo(**{**s, "codec": Codec(s["codec"])}) for s in self._muxer.segments()]

    @property
    def paths(self) -> list[str]:
        """Final paths of the segments so far (they exist once ``close()`` returned)."""
        return [s["path"] for s in self._muxer.segments()]

    @property
    def temp_path(self) -> Optional[str]:
        """Where the current segment is being written; None once closed or aborted."""
        if self.closed or self._aborted:
            return None
        return self._muxer.segments()[-1]["temp_path"]

    def __enter__(self) -> MediaWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "aborted" if self._aborted else "open"
        segments = self._muxer.segments()
        packets = sum(s["packets"] for s in segments)
        return (
            f"MediaWriter({self._path!r}, format={self.format!r}, codec={self._codec.value}, "
            f"{self._size[0]}x{self._size[1]}, segments={len(segments)}, "
            f"packets={packets}, {state})"
        )


class VideoWriter:
    """Encodes frames through an encode session and writes the packets into a file.

    ``write(frame)`` takes a :class:`Frame` or, as a convenience, an (height, width, 3)
    uint8 RGB array (its pts follows the previous frame's: 0, 1, 2, ...). ``switch``
    passes a :class:`SessionSwitchRequest` to the session; where the container needs it
    (MP4, Matroska: a new size or codec), the file continues in a new segment.
    The session runs on ``controller`` (default: a new ``SessionController("auto")``).
    """

    def __init__(
        self,
        path: PathLike,
        common: CommonEncodeConfig,
        backend_config: BackendConfig = None,
        *,
        controller: Optional[SessionController] = None,
        format: Optional[str] = None,
    ) -> None:
        _args.instance("VideoWriter", "common", common, (CommonEncodeConfig,))
        _args.instance("VideoWriter", "controller", controller, (SessionController,), optional=True)
        self._ctl = controller if controller is not None else SessionController("auto")
        # The file first: a bad path fails before any encoder starts.
        self._writer = MediaWriter(
            path,
            common.codec,
            common.width,
            common.height,
            common.fps_num,
            common.fps_den,
            format=format,
        )
        try:
            self._handle = self._ctl.start_encode_session(common, backend_config)
        except BaseException:
            self._writer.abort()
            raise
        self._session_open = True
        self._frames = 0
        self._packets = 0
        self._paths: Optional[list[str]] = None

    # -- writing ---------------------------------------------------------------------

    def write(self, frame: Union[Frame, np.ndarray]) -> None:
        """Submits one frame and writes every packet that is ready."""
        self._check_open("write")
        if isinstance(frame, np.ndarray):
            frame = self._rgb_frame(frame)
        elif not isinstance(frame, Frame):
            raise InvalidFrameError(
                f"VideoWriter.write: a {type(frame).__name__}; expected "
                "videohw.Frame or an (height, width, 3) uint8 numpy array"
            )
        self._ctl.submit(self._handle, frame)
        self._frames += 1
        self._write_packets(self._ctl.reap(self._handle))

    def switch(self, request: SessionSwitchRequest) -> EncoderSessionHandle:
        """Switches the encode session (docs/api.md, Switching); returns the new handle."""
        self._check_open("switch")
        self._handle = self._ctl.switch_encode_session(self._handle, request)
        return self._handle

    def flush(self) -> None:
        """Encodes and writes every frame submitted so far; the session stays open."""
        self._check_open("flush")
        self._write_packets(self._ctl.flush(self._handle))

    def close(self) -> list[str]:
        """Drains the session, finishes the file(s) and returns their final paths. On a
        failure nothing is left behind. Closing again returns the same list."""
        if self._paths is not None:
            return self._paths
        self._check_open("close")
        try:
            packets = self._ctl.close_encode_session(self._handle)
            self._session_open = False
            self._write_packets(packets)
            self._paths = self._writer.close()
        except BaseException:
            self.abort()
            raise
        return self._paths

    def abort(self) -> None:
        """Closes the session without writing what it still holds, and removes every file
        written so far."""
        if self._session_open:
            self._session_open = False
            try:
                self._ctl.close_encode_session(self._handle)
            except Exception:  # the files go either way; the session's state is moot
                pass
        self._writer.abort()

    # -- state -----------------------------------------------------------------------

    @property
    def handle(self) -> EncoderSessionHandle:
        return self._handle

    @property
    def paths(self) -> list[str]:
        return self._writer.paths

    @property
    def segments(self) -> list[SegmentInfo]:
        return self._writer.segments

    @property
    def media_writer(self) -> MediaWriter:
        return self._writer

    def telemetry(self) -> Telemetry:
        """The session's telemetry plus the writer's: ``writer_frames`` (submitted),
        ``writer_packets`` (written), ``writer_segments``."""
        telemetry = self._ctl.telemetry(self._handle)
        telemetry["writer_frames"] = self._frames
        telemetry["writer_packets"] = self._packets
        telemetry["writer_segments"] = len(self._writer.paths)
        return telemetry

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        state = "closed" if self._paths is not None else "open" if self._session_open else "aborted"
        return (
            f"VideoWriter({self._writer.path!r}, format={self._writer.format!r}, "
            f"generation={self._handle.generation}, frames={self._frames}, "
            f"packets={self._packets}, segments={len(self._writer.paths)}, {state})"
        )

    # -- internals -------------------------------------------------------------------

    def _check_open(self, what: str) -> None:
        if not self._session_open:
            raise ConfigError(
                f"VideoWriter.{what}: the writer of {self._writer.path!r} is already closed"
            )

    def _write_packets(self, packets: list[EncodedPacket]) -> None:
        for packet in packets:
            self._writer.write_packet(packet)
            self._packets += 1

    @staticmethod
    def _rgb_frame(array: np.ndarray) -> Frame:
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise InvalidFrameError(
                f"VideoWriter.write: an array of shape {array.shape} and "
                f"dtype {array.dtype}; expected (height, width, 3) uint8 RGB"
            )
        return Frame(np.ascontiguousarray(array), PixelFormat.RGB24)
