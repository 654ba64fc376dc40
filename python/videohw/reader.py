"""``VideoReader``: frames of a media file by index, time or iteration, on one persistent
decode session (docs/media.md). The work happens in the core's FrameReader
(cpp/pipeline/frame_reader.hpp); this is the Pythonic face: indexing, slices, iteration,
a lock so threads may share a reader, and the session taken from and given back to a
``SessionController``.
"""

from __future__ import annotations

import math
import operator
import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, Optional, Union

import numpy as np

from . import _args, _core
from .contract import (
    CommonDecodeConfig,
    DecodeOutputMode,
    NvidiaDecodeConfig,
    SoftwareDecodeConfig,
    Telemetry,
    VtDecodeConfig,
)
from .decoding import DecodedFrame, _frames
from .errors import ConfigError, InvalidMediaError, SessionClosedError
from .media import (
    MediaInfo,
    Source,
    VideoStreamInfo,
    media_info,
    open_source,
    select_video_stream,
    video_stream_info,
)

__all__ = ["VideoReader"]

_SEEK_MODES = ("exact", "approximate")
_BATCH = 8  # frames per core call while iterating

_default_controllers: dict[str, Any] = {}
_default_lock = threading.Lock()


def _default_controller(backend: str) -> Any:
    """One controller per backend for readers given none: their idle sessions are shared,
    so a second reader of the same codec reuses the first one's decoder."""
    from .controller import SessionController

    with _default_lock:
        ctl = _default_controllers.get(backend)
        if ctl is None:
            ctl = _default_controllers[backend] = SessionController._for_decoding(backend)
        return ctl


def _give_back(controller: Any, handle: Any, common: CommonDecodeConfig, backend: Any) -> None:
    controller._release_decode_session(handle, common, backend)


class VideoReader:
    """Frames of one video stream of ``source`` (a path or a binary file object).

    ``r[i]``, ``r[a:b:step]``, ``r.get_frames_at(indices)``, ``r.get_frames_played_at(
    seconds)``, iteration; ``len(r)``; ``r.metadata``. Frames are ``DecodedFrame`` with
    ``index``, ``pts`` (stream time base) and ``seconds``. ``seek_mode="exact"`` returns the
    frame whose display index is asked for; ``"approximate"`` skips the packet scan and
    returns the first frame at or after ``i / avg_fps`` seconds (its ``index`` says which).
    """

    def __init__(
        self,
        source: Source,
        backend: str = "auto",
        output: Union[DecodeOutputMode, str] = DecodeOutputMode.CPU_RGB,
        seek_mode: str = "exact",
        *,
        stream: Optional[int] = None,
        controller: Any = None,
        decode_config: Union[SoftwareDecodeConfig, NvidiaDecodeConfig, None] = None,
    ) -> None:
        from .controller import BACKENDS, SessionController

        _args.choice("VideoReader", "seek_mode", seek_mode, _SEEK_MODES)
        output = _args.member("VideoReader", "output", DecodeOutputMode, output)
        _args.choice("VideoReader", "backend", backend, BACKENDS)
        stream = _args.integer("VideoReader", "stream", stream, 0, _args.INT32_MAX, optional=True)
        _args.instance("VideoReader", "controller", controller, (SessionController,), optional=True)
        _args.instance(
            "VideoReader",
            "decode_config",
            decode_config,
            (SoftwareDecodeConfig, NvidiaDecodeConfig, VtDecodeConfig),
            optional=True,
        )
        self._lock = threading.RLock()
        self._closed = True
        target, self.name = open_source(source, "VideoReader")
        self.seek_mode = seek_mode
        self.output = output
        media = _core.MediaSource(target, self.name)
        self.info: MediaInfo = media_info(media.info())
        chosen = select_video_stream(self.info, stream)
        if chosen.codec is None:
            raise InvalidMediaError(
                f"{self.name}: video stream {chosen.index} is "
                f"{chosen.codec_name}, which no videohw backend decodes"
            )
        self._ctl = controller if controller is not None else _default_controller(backend)
        caps = self._ctl.decode_capabilities(chosen.codec)
        if not caps.supported:
            raise InvalidMediaError(
                f"{self.name}: the {caps.backend} backend cannot decode {chosen.codec_name} here"
            )
        self._common = CommonDecodeConfig(codec=chosen.codec, output=output)
        self._backend_config = decode_config
        self._handle = self._ctl._acquire_decode_session(self._common, decode_config)
        try:
            self._core: Any = _core.FrameReader(
                media, chosen.index, self._ctl._manager, self._handle.id, self._handle.generation
            )
        except BaseException:
            _give_back(self._ctl, self._handle, self._common, decode_config)
            raise
        self._stream = chosen
        self._closed = False
        # A reader dropped without close() still gives its session back.
        self._finalizer = weakref.finalize(
            self, _give_back, self._ctl, self._handle, self._common, decode_config
        )

    # -- description ----------------------------------------------------------------------

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        s = self._stream
        return (
            f"VideoReader({self.name!r}, {s.codec_name} {s.width}x{s.height}, "
            f"output={self.output}, seek_mode={self.seek_mode!r}, "
            f"backend={self.backend!r}, {state})"
        )

    @property
    def backend(self) -> str:
        return self._ctl.decode_backend

    @property
    def metadata(self) -> VideoStreamInfo:
        """The stream's description; in exact mode with the exact frame and keyframe
        counts (the packet scan runs on first use)."""
        with self._lock:
            core = self._live()
            if self.seek_mode == "exact":
                core.frame_count()
            return video_stream_info(core.info())

    def __len__(self) -> int:
        with self._lock:
            core = self._live()
            if self.seek_mode == "exact":
                return int(core.frame_count())
            return self._estimated_count()

    def _estimated_count(self) -> int:
        s = self._stream
        if s.frame_count > 0:
            return s.frame_count
        fps = s.avg_fps or s.real_fps
        if fps and s.duration_seconds:
            return max(1, round(s.duration_seconds * fps))
        raise InvalidMediaError(
            f"{self.name}: neither a frame count nor a duration and frame "
            "rate to estimate one; use seek_mode='exact'"
        )

    # -- frames by index ----------------------------------------------------------------

    def __getitem__(self, key: Union[int, slice]) -> Union[DecodedFrame, list[DecodedFrame]]:
        if isinstance(key, slice):
            return self.get_frames_at(range(*key.indices(len(self))))
        return self.get_frames_at([key])[0]

    @staticmethod
    def _as_int(key: Any) -> int:
        if isinstance(key, (bool, np.bool_)):
            raise TypeError(f"frame index {key!r}: expected an int, not a bool")
        try:
            return operator.index(key)
        except TypeError:
            raise TypeError(
                f"frame index {key!r}: expected an int or a slice, got {type(key).__name__}"
            ) from None

    def _normalized(self, keys: list) -> list[int]:
        """Ints, negative ones counted from the end. The frame count (a scan of the file)
        is only asked for when an index is negative; the core checks the rest."""
        wanted = [self._as_int(k) for k in keys]
        for i in wanted:
            if i >= 2**62:  # beyond any file, and beyond the core's int64
                raise IndexError(f"frame index {i} is out of range")
        if any(i < 0 for i in wanted):
            count = len(self)
            for i in wanted:
                if not -count <= i < count:
                    raise IndexError(f"frame index {i} is out of range for {count} frames")
            wanted = [i + count if i < 0 else i for i in wanted]
        return wanted

    def get_frames_at(self, indices: Iterable[int]) -> list[DecodedFrame]:
        """The frames at these display indices, in the order given (negative indices count
        from the end; repeats are separate copies). Decoded in one forward pass per GOP."""
        if isinstance(indices, (str, bytes)) or not isinstance(indices, Iterable):
            raise TypeError(
                f"get_frames_at: indices is a {type(indices).__name__}; expected an "
                "iterable of ints"
            )
        with self._lock:
            core = self._live()
            wanted = self._normalized(list(indices))
            if not wanted:
                return []
            if self.seek_mode == "exact":
                try:
                    frames = _frames(core.frames_at(wanted))
                except ConfigError as exc:
                    if "is out of range" in str(exc):
                        raise IndexError(str(exc)) from None
                    raise
            else:
                count = self._estimated_count()
                for i in wanted:
                    if i >= count:
                        raise IndexError(
                            f"frame index {i} is out of range for about {count} frames"
                        )
                frames = [self._near(core, self._seconds_of_index(i)) for i in wanted]
        return _separate_repeats(wanted, frames)

    def get_frames_played_at(self, seconds: Iterable[float]) -> list[DecodedFrame]:
        """The frame shown at each time (the last one starting at or before it). A time
        before the first frame or after the last one ends raises IndexError."""
        if isinstance(seconds, (str, bytes)) or not isinstance(seconds, Iterable):
            raise TypeError(
                f"get_frames_played_at: seconds is a {type(seconds).__name__}; "
                "expected an iterable of numbers"
            )
        times = []
        for t in seconds:
            if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)):
                raise TypeError(f"get_frames_played_at: {t!r} is not a number of seconds")
            try:
                as_float = float(t)
            except OverflowError:  # an int past any float
                as_float = math.inf
            if not math.isfinite(as_float):
                raise ValueError(f"get_frames_played_at: {t!r} is not a finite time")
            times.append(as_float)
        with self._lock:
            core = self._live()
            if self.seek_mode == "approximate":
                return [self._near(core, t) for t in times]
            indices = core.indices_played_at(times)
            for t, i in zip(times, indices):
                if i < 0:
                    raise IndexError(
                        f"{self.name}: no frame is shown at {t} s (before the "
                        "first frame or after the last one ends)"
                    )
            return self.get_frames_at(indices)

    def get_frame_played_at(self, seconds: float) -> DecodedFrame:
        return self.get_frames_played_at([seconds])[0]

    def _seconds_of_index(self, i: int) -> float:
        s = self._stream
        fps = s.avg_fps or s.real_fps
        if not fps:
            raise InvalidMediaError(
                f"{self.name}: no frame rate to place frame {i} in time; use seek_mode='exact'"
            )
        return (s.start_seconds or 0.0) + float(i / fps)

    def _near(self, core: Any, seconds: float) -> DecodedFrame:
        return _frames([core.frame_near(seconds)])[0]

    # -- iteration ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[DecodedFrame]:
        """Every frame in display order, decoded as a stream (no seeks, no scan)."""
        with self._lock:
            self._live().restart()
        while True:
            with self._lock:
                batch = _frames(self._live().next(_BATCH))
            if not batch:
                return
            yield from batch

    # -- session --------------------------------------------------------------------------

    def telemetry(self) -> Telemetry:
        """The decode session's telemetry (``session_inits``, ``resets``, ...) and the
        reader's own counters, prefixed ``reader_`` (``reader_seeks``,
        ``reader_units_dropped``, ``reader_scan_ns``, ...)."""
        with self._lock:
            core = self._live()
            out = self._ctl.telemetry(self._handle)
            out.update({f"reader_{k}": v for k, v in core.stats().items()})
            return out

    def _live(self) -> Any:
        if self._closed:
            raise SessionClosedError(f"VideoReader({self.name!r}) is closed")
        return self._core

    def close(self) -> None:
        """Gives the decode session back to its controller (reset, kept for the next
        reader of the same codec) and closes the file."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._core = None
            self._finalizer()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _separate_repeats(indices: list[int], frames: list[DecodedFrame]) -> list[DecodedFrame]:
    """A repeated index gets its own pixels, so writing into one frame's array never
    changes another one."""
    seen: set[int] = set()
    out = []
    for i, frame in zip(indices, frames):
        if i in seen and frame.planes is not None and not frame.on_device:
            from dataclasses import replace

            frame = replace(frame, planes=tuple(np.array(p) for p in frame.planes))
        seen.add(i)
        out.append(frame)
    return out
