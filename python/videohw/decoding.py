"""Decode sessions: the ``DecodedFrame`` type and the decode half of ``SessionController``
(mixed into it, so one controller drives encode and decode sessions). See docs/decode.md.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np

from . import _args, _convert, _core
from ._handles import SessionLife, check_owned, disarm
from .contract import (
    Codec,
    CommonDecodeConfig,
    DecodeCapabilities,
    DecodeOutputMode,
    DecoderSessionHandle,
    NvidiaDecodeConfig,
    SoftwareDecodeConfig,
    Telemetry,
    VtDecodeConfig,
)
from .errors import ConfigError, InvalidTypeError

log = logging.getLogger("videohw")

BackendDecodeConfig = Union[SoftwareDecodeConfig, NvidiaDecodeConfig, VtDecodeConfig, None]
DecodeSwitchTarget = Union[CommonDecodeConfig, tuple[CommonDecodeConfig, BackendDecodeConfig]]

_OUTPUTS = {m.value: m for m in DecodeOutputMode}


@dataclass(frozen=True)
class ColorInfo:
    """Colour description of a decoded picture, as ffprobe names it ("bt709", "unknown")."""

    primaries: str
    transfer: str
    matrix: str
    full_range: bool


@dataclass(frozen=True, eq=False, repr=False)
class DecodedFrame:
    """One decoded picture: metadata always, pixels per ``output``.

    - METADATA_ONLY: ``planes`` is None.
    - NATIVE_SURFACE: ``planes`` are the decoder's own planes in ``pixel_format`` (software:
      read-only numpy views of libavcodec's buffers, e.g. yuv420p Y, U, V; no copy). The
      arrays keep the decoder's buffer alive; copy them to modify.
    - CPU_RGB: ``planes`` holds one writable (height, width, 3) uint8 array; ``rgb`` too.

    Frames from a ``VideoReader`` also carry ``index`` (display index in the file) and
    ``seconds`` (presentation time); ``pts`` is then in the stream's time base.
    """

    width: int
    height: int
    pts: Optional[int]
    generation: int
    is_keyframe: bool
    damaged: bool
    color: ColorInfo
    output: DecodeOutputMode
    pixel_format: str
    planes: Optional[tuple]
    on_device: bool = False
    device_id: int = -1
    index: Optional[int] = None
    seconds: Optional[float] = None
    _owner: Any = None  # device frames: keeps the surface alive while the planes are used

    @property
    def rgb(self) -> Optional[np.ndarray]:
        """The (height, width, 3) uint8 picture in CPU_RGB mode, else None."""
        return self.planes[0] if self.output is DecodeOutputMode.CPU_RGB and self.planes else None

    def __repr__(self) -> str:
        flags = (", keyframe" if self.is_keyframe else "") + (", DAMAGED" if self.damaged else "")
        pixels = f", pixel_format={self.pixel_format}" if self.pixel_format else ""
        where = (
            f"index={self.index}, seconds={self.seconds:.6g}, "
            if self.index is not None and self.seconds is not None
            else ""
        )
        return (
            f"DecodedFrame({self.width}x{self.height}, {where}pts={self.pts}, "
            f"generation={self.generation}{flags}, output={self.output}{pixels})"
        )


def _bitstream_bytes(call: str, data: Any) -> Any:
    """``data`` if it is a C-contiguous buffer of bytes (bytes, bytearray, a memoryview or
    array of one-byte items); an array of wider items would be read as its raw bytes."""
    try:
        view = memoryview(data)
    except TypeError:
        raise InvalidTypeError(
            f"{call}: data {_args._given(data)}; expected a bytes-like "
            "object (bytes, bytearray, memoryview, uint8 numpy array)"
        ) from None
    with view:
        if view.itemsize != 1 or not view.c_contiguous:
            raise InvalidTypeError(
                f"{call}: data is a buffer of {view.itemsize}-byte items "
                f"(format {view.format!r}"
                f"{', not contiguous' if not view.c_contiguous else ''}); "
                "expected contiguous bytes (uint8)"
            )
    return data


def _frames(raw: list[dict]) -> list[DecodedFrame]:
    return [
        DecodedFrame(
            width=r["width"],
            height=r["height"],
            pts=r["pts"],
            generation=r["generation"],
            is_keyframe=r["is_keyframe"],
            damaged=r["damaged"],
            color=ColorInfo(r["primaries"], r["transfer"], r["matrix"], r["full_range"]),
            output=_OUTPUTS[r["output"]],
            pixel_format=r["pixel_format"],
            planes=None if r["planes"] is None else tuple(r["planes"]),
            on_device=r["on_device"],
            device_id=r["device_id"],
            index=r.get("index"),
            seconds=r.get("seconds"),
            _owner=r.get("owner"),
        )
        for r in raw
    ]


def _core_decode_config(c: CommonDecodeConfig) -> Any:
    out = _core.CommonDecodeConfig()
    out.codec = _convert._core_enum(_core.Codec, c.codec)
    out.low_latency = c.low_latency
    out.max_display_delay = c.max_display_delay
    out.prefer_zero_copy = c.prefer_zero_copy
    out.output = _convert._core_enum(_core.DecodeOutputMode, c.output)
    out.input_layout = _convert._core_enum(_core.EncodedLayout, c.input_layout)
    out.max_width = c.max_width or 0
    out.max_height = c.max_height or 0
    out.max_access_unit_bytes = c.max_access_unit_bytes
    out.max_ready_frames = c.max_ready_frames
    out.max_ready_bytes = c.max_ready_bytes
    out.push_ahead_bytes = c.push_ahead_bytes
    out.max_backlog_bytes = c.max_backlog_bytes
    out.extradata = bytes(c.extradata)
    return out


def _split_target(request: Any) -> tuple[CommonDecodeConfig, BackendDecodeConfig]:
    if isinstance(request, CommonDecodeConfig):
        return request, None
    if (
        isinstance(request, (tuple, list))
        and len(request) == 2
        and isinstance(request[0], CommonDecodeConfig)
    ):
        return request[0], request[1]
    raise InvalidTypeError(
        f"SessionController.switch_decode_session: request "
        f"{_args._given(request)}; expected a CommonDecodeConfig or a pair "
        "(CommonDecodeConfig, backend decode config or None)"
    )


class DecodeControls:
    """The decode methods of ``SessionController`` (a mixin: it uses the controller's
    ``_requested`` backend name and ``_manager``). The decode backend is resolved on first
    use and separately from encode: ``"auto"`` takes NVDEC where usable, else software."""

    _requested: str
    _manager: Any
    _token: int
    _check_open: Any
    _decode_backend: Optional[str] = None
    _decode_fallback_reason: Optional[str] = None
    _warned_foreign_decode_config = False
    _decode_providers: Optional[dict[tuple, Any]] = None

    @property
    def decode_backend(self) -> str:
        """The backend decode sessions of this controller run on."""
        if self._decode_backend is None:
            self._decode_backend, self._decode_fallback_reason = _core.resolve_decode_backend(
                self._requested
            )
            if self._decode_fallback_reason:
                log.info(
                    "videohw: decode backend 'auto' uses %s (%s)",
                    self._decode_backend,
                    self._decode_fallback_reason,
                )
        return self._decode_backend

    @property
    def decode_fallback_reason(self) -> Optional[str]:
        """Why decode backend "auto" did not pick NVDEC (str), or None."""
        _ = self.decode_backend  # resolving it sets the reason
        return self._decode_fallback_reason or None

    def decode_capabilities(self, codec: Union[Codec, str]) -> DecodeCapabilities:
        codec = _args.member("SessionController.decode_capabilities", "codec", Codec, codec)
        caps = self._decoder_provider(None).capabilities(_convert._core_enum(_core.Codec, codec))
        return DecodeCapabilities(
            backend=caps.backend,
            codec=codec,
            supported=caps.supported,
            max_width=caps.max_width,
            max_height=caps.max_height,
            output_modes=frozenset(DecodeOutputMode[m.name] for m in caps.output_modes),
            device_surfaces=caps.device_surfaces,
            dynamic_resolution=caps.dynamic_resolution,
        )

    def _decoder_provider(
        self,
        backend_config: BackendDecodeConfig,
        call: str = "SessionController.start_decode_session",
    ) -> Any:
        backend = self.decode_backend
        software, nvidia = SoftwareDecodeConfig(), NvidiaDecodeConfig()
        if isinstance(backend_config, SoftwareDecodeConfig) and backend == "software":
            software = backend_config
        elif isinstance(backend_config, NvidiaDecodeConfig) and backend == "nvidia":
            nvidia = backend_config
        elif backend_config is not None:
            _args.instance(
                call,
                "backend_decode",
                backend_config,
                (SoftwareDecodeConfig, NvidiaDecodeConfig, VtDecodeConfig),
            )
            if not self._warned_foreign_decode_config:
                log.warning(
                    "videohw: %s is for another backend; the %s decode backend uses its defaults",
                    type(backend_config).__name__,
                    backend,
                )
                self._warned_foreign_decode_config = True
        # One provider per configuration for the controller's life: it caches what it asks
        # the driver (NVDEC's capabilities: a device opened and queried, ~5 ms a session).
        key = (backend, software.threads, nvidia.device)
        if self._decode_providers is None:
            self._decode_providers = {}
        providers = self._decode_providers
        provider = providers.get(key)
        if provider is None:
            core_sw = _core.SoftwareDecodeConfig()
            core_sw.threads = software.threads
            core_nv = _core.NvidiaDecodeConfig()
            core_nv.device = nvidia.device
            provider = providers[key] = _core.make_decoder_provider(backend, core_sw, core_nv)
        return provider

    def start_decode_session(
        self, common_decode: CommonDecodeConfig, backend_decode: BackendDecodeConfig = None
    ) -> DecoderSessionHandle:
        self._check_open("start_decode_session")
        _args.instance(
            "SessionController.start_decode_session",
            "common_decode",
            common_decode,
            (CommonDecodeConfig,),
        )
        sid, generation = self._manager.start_decode(
            _core_decode_config(common_decode), self._decoder_provider(backend_decode)
        )
        return DecoderSessionHandle(
            id=sid,
            generation=generation,
            _owner=self._token,
            _life=SessionLife(self._manager, sid, decode=True),
        )

    def push_bitstream(
        self,
        handle: DecoderSessionHandle,
        data: Any,
        pts: Optional[int] = None,
        block: bool = False,
        timeout: Optional[float] = None,
    ) -> None:
        """Queues one chunk of Annex-B bytes (any size; access units may span chunks) for
        the session's decode stage and returns; the frames it completes come out of
        ``reap`` as they are decoded. ``pts`` belongs to the access unit that starts in
        this chunk. A ``DecodeError`` from bytes pushed earlier is raised by the next push
        (after its own chunk was taken) or by ``flush``; decoding resumes at the next IDR.

        Memory is bounded. Queued bytes: a push that finds
        ``CommonDecodeConfig.push_ahead_bytes`` (1 MiB) queued waits while the decode stage
        works them down, so a caller who reaps between pushes holds about a chunk's frames
        at once. Decoded frames: once
        ``max_ready_frames`` / ``max_ready_bytes`` wait to be reaped the stage stops; a push
        that then finds bytes waiting raises ``BackpressureError`` with nothing taken, or
        with ``block=True`` first waits for another thread's ``reap`` (up to ``timeout``
        seconds, None: no limit). A loop that pushes and reaps on one thread must not
        block: nothing else would make room."""
        call = "SessionController.push_bitstream"
        _check_decode_handle(self, handle, "push_bitstream")
        pts = _args.integer(call, "pts", pts, _args.INT64_MIN, _args.INT64_MAX, optional=True)
        data = _bitstream_bytes(call, data)
        wait_ns = 0
        if _args.boolean(call, "block", block):
            seconds = _args.seconds(call, "timeout", timeout, 2**62 / 1e9, optional=True)
            wait_ns = -1 if seconds is None else max(1, int(seconds * 1e9))
        elif timeout is not None:
            raise ConfigError(f"{call}: timeout is given without block=True")
        self._manager.push_bitstream(handle.id, handle.generation, data, pts, wait_ns)

    def _reap_decoded(
        self, handle: DecoderSessionHandle, min_frames: int = 0, timeout: Optional[float] = None
    ) -> list[DecodedFrame]:
        timeout_ns = -1 if timeout is None else int(timeout * 1e9)
        return _frames(
            self._manager.reap_decoded(handle.id, handle.generation, min_frames, timeout_ns)
        )

    def _flush_decode(self, handle: DecoderSessionHandle) -> list[DecodedFrame]:
        return _frames(self._manager.flush_decode(handle.id, handle.generation))

    def switch_decode_session(
        self, handle: DecoderSessionHandle, request: DecodeSwitchTarget
    ) -> DecoderSessionHandle:
        """Flushes the current decoder (its frames keep their generation and become ready),
        then decodes with ``request`` (a CommonDecodeConfig, or (config, backend config))
        under the returned handle's new generation. Push from a random access point on."""
        _check_decode_handle(self, handle, "switch_decode_session")
        common, backend_config = _split_target(request)
        generation = self._manager.switch_decode(
            handle.id,
            handle.generation,
            _core_decode_config(common),
            self._decoder_provider(backend_config, "SessionController.switch_decode_session"),
        )
        return DecoderSessionHandle(
            id=handle.id, generation=generation, _owner=self._token, _life=handle._life
        )

    def close_decode_session(self, handle: DecoderSessionHandle) -> list[DecodedFrame]:
        """End of stream, drain, release, destroy; returns every frame not yet reaped."""
        _check_decode_handle(self, handle, "close_decode_session")
        frames = _frames(self._manager.close_decode(handle.id, handle.generation))
        disarm(handle)
        return frames

    # -- idle sessions for readers ---------------------------------------------------------

    def _acquire_decode_session(
        self, common: CommonDecodeConfig, backend_decode: BackendDecodeConfig
    ) -> DecoderSessionHandle:
        """An open decode session for ``common``: an idle one a closed reader gave back
        (same codec, output and options: reused as it is, no new decoder) or a new one."""
        key = (common, backend_decode)
        with _pool_lock(self):
            idle = self._idle_decode_sessions().get(key, [])
            while idle:
                handle = idle.pop()
                try:
                    state = self._manager.decode_state(handle.id, handle.generation)
                    if state["state"] == "running":
                        return handle
                except Exception:  # closed behind our back: forget it
                    pass
        return self.start_decode_session(common, backend_decode)

    def _release_decode_session(
        self,
        handle: DecoderSessionHandle,
        common: CommonDecodeConfig,
        backend_decode: BackendDecodeConfig,
    ) -> None:
        """Takes a reader's session back: reset (nothing of the old file comes out) and
        kept idle for the next reader, up to a few per configuration; the rest are closed."""
        try:
            self._manager.reset_decode(handle.id, handle.generation)
        except Exception:
            return  # closed or broken: nothing to keep
        with _pool_lock(self):
            idle = self._idle_decode_sessions().setdefault((common, backend_decode), [])
            if len(idle) < _MAX_IDLE_PER_CONFIG:
                idle.append(handle)
                return
        self.close_decode_session(handle)

    def _idle_decode_sessions(self) -> dict:
        pool = self.__dict__.get("_idle_decode")
        if pool is None:
            pool = self.__dict__["_idle_decode"] = {}
        return pool

    def decode_session(
        self, common_decode: CommonDecodeConfig, backend_decode: BackendDecodeConfig = None
    ) -> DecodeSession:
        """``with ctl.decode_session(common) as s:`` -- closed when the block ends."""
        return DecodeSession(self, self.start_decode_session(common_decode, backend_decode))


_MAX_IDLE_PER_CONFIG = 4
_pool_locks_guard = threading.Lock()


def _pool_lock(controller: Any) -> threading.Lock:
    with _pool_locks_guard:
        lock = controller.__dict__.get("_idle_decode_lock")
        if lock is None:
            lock = controller.__dict__["_idle_decode_lock"] = threading.Lock()
        return lock


def _check_decode_handle(controller: Any, handle: Any, call: str) -> None:
    check_owned(controller._token, handle, DecoderSessionHandle, call)


class DecodeSession:
    """A decode handle bound to its controller; a context manager that closes the session."""

    def __init__(self, controller: Any, handle: DecoderSessionHandle) -> None:
        if not isinstance(getattr(controller, "_token", None), int):
            raise InvalidTypeError(
                f"DecodeSession: controller {_args._given(controller)}; "
                "expected a SessionController"
            )
        check_owned(controller._token, handle, DecoderSessionHandle, "DecodeSession")
        self._ctl = controller
        self.handle = handle
        self._closed = False
        self.closing_frames: list[DecodedFrame] = []

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"DecodeSession(id={self.handle.id}, generation={self.handle.generation}, "
            f"backend={self._ctl.decode_backend!r}, {state})"
        )

    def __enter__(self) -> DecodeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._closed:
            self.close()

    def push(
        self,
        data: Any,
        pts: Optional[int] = None,
        block: bool = False,
        timeout: Optional[float] = None,
    ) -> None:
        self._ctl.push_bitstream(self.handle, data, pts, block, timeout)

    def reap(self, min_frames: int = 0, timeout: Optional[float] = None) -> list[DecodedFrame]:
        """Frames decoded so far; see ``SessionController.reap``."""
        return self._ctl._reap(self.handle, min_frames, timeout, "DecodeSession.reap")

    def flush(self) -> list[DecodedFrame]:
        return self._ctl.flush(self.handle)

    def switch(self, request: DecodeSwitchTarget) -> DecoderSessionHandle:
        """Switches this session; ``handle`` follows the new generation."""
        self.handle = self._ctl.switch_decode_session(self.handle, request)
        return self.handle

    def close(self) -> list[DecodedFrame]:
        """Closes the session; the drained frames are returned and kept in
        ``closing_frames`` (useful after a ``with`` block)."""
        self.closing_frames = self._ctl.close_decode_session(self.handle)
        self._closed = True
        return self.closing_frames

    def telemetry(self) -> Telemetry:
        return self._ctl.telemetry(self.handle)
