"""SessionController: the public entry point for encode sessions."""

from __future__ import annotations

import logging
from typing import Any, Optional, Union, overload

from . import _args, _convert, _core
from ._handles import SessionLife, check_owned, disarm, new_token
from .contract import (
    Capabilities,
    Codec,
    CommonEncodeConfig,
    DecoderSessionHandle,
    EncodedPacket,
    EncoderSessionHandle,
    Frame,
    NvidiaEncodeConfig,
    SessionSwitchRequest,
    SoftwareEncodeConfig,
    Telemetry,
    VtEncodeConfig,
)
from .decoding import DecodeControls, DecodedFrame
from .errors import BackendUnavailableError, InvalidFrameError, SessionClosedError

log = logging.getLogger("videohw")

BackendConfig = Union[SoftwareEncodeConfig, NvidiaEncodeConfig, VtEncodeConfig, None]

_BACKEND_CONFIG_TYPES = {"software": SoftwareEncodeConfig, "nvidia": NvidiaEncodeConfig}

BACKENDS = ("auto", "software", "nvidia")

# reap's limit in seconds: the core adds it, in nanoseconds, to its clock's int64 reading.
# 2**62 ns is 146 years, and leaves that sum room.
MAX_REAP_TIMEOUT_S = 2**62 / 1e9

_ENCODE_STATE = frozenset(
    {"_backend", "_fallback_reason", "_default_provider", "_encode_unavailable"}
)

# Fallback reasons already logged: "auto" falling back deserves one warning per process and
# cause, not one per controller (a program may make many).
_fallbacks_logged: set[str] = set()


def available_backends() -> dict[str, Optional[str]]:
    """Encode backends of this build: name -> None when usable here, else why not."""
    return {name: (reason or None) for name, reason in _core.encode_backend_availability().items()}


def _nvidia_decode_usable() -> bool:
    """NVDEC works here ("" or None is the availability map's "usable")."""
    return not _core.decode_backend_availability().get("nvidia", "unknown")


class SessionController(DecodeControls):
    """Creates and drives encode sessions on one backend.

    ``backend`` is ``"auto"`` (NVIDIA where usable, else software), ``"software"`` or
    ``"nvidia"``; an unusable explicit backend raises ``BackendUnavailableError`` saying why.
    """

    def __init__(self, backend: str = "auto") -> None:
        self._init_common(backend)
        self._resolve_encode()

    @classmethod
    def _for_decoding(cls, backend: str = "auto") -> SessionController:
        """A controller whose encode side is resolved on first use. Readers never encode,
        and resolving it probes NVENC (a CUDA context and an encoder opened and closed):
        time a reader's first frame should not pay."""
        self = cls.__new__(cls)
        self._init_common(backend)
        self._encode_resolved = False
        return self

    def _init_common(self, backend: str) -> None:
        _args.choice("SessionController", "backend", backend, BACKENDS)
        self._requested = backend
        self._token = new_token()
        self._manager = _core.SessionManager()
        self._warned_foreign_config = False
        self._nvidia_providers: dict[NvidiaEncodeConfig, Any] = {}
        self._software_providers: dict[SoftwareEncodeConfig, Any] = {}

    def _resolve_encode(self) -> None:
        backend = self._requested
        self._backend, self._fallback_reason = _core.resolve_encode_backend(backend)
        if self._fallback_reason and self._fallback_reason not in _fallbacks_logged:
            _fallbacks_logged.add(self._fallback_reason)
            log.warning(
                "videohw: backend 'auto' uses %s (%s)", self._backend, self._fallback_reason
            )
        # Fails now, with the cause, if the backend cannot be used on this machine -- unless
        # it can still decode: an NVDEC-only GPU (H100/H200) is a usable "nvidia" backend
        # whose encode calls raise the NVENC cause.
        self._encode_unavailable: Optional[BackendUnavailableError] = None
        try:
            self._default_provider: Any = _core.make_encoder_provider(
                self._backend, _convert.software_encode_config(SoftwareEncodeConfig())
            )
        except BackendUnavailableError as exc:
            if backend != "nvidia" or not _nvidia_decode_usable():
                raise
            self._encode_unavailable = exc
            self._default_provider = None
        self._encode_resolved = True

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not set yet: the encode side of a _for_decoding
        # controller, resolved on first use.
        if name in _ENCODE_STATE and not self.__dict__.get("_encode_resolved", True):
            self._resolve_encode()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        state = ", closed" if self.__dict__.get("_closed") else ""
        return f"SessionController(backend={self._backend!r}, requested={self._requested!r}{state})"

    def close(self) -> None:
        """Closes every session this controller started, encode and decode (readers' idle
        ones too), each in its close order; starting a session afterwards raises
        SessionClosedError. Calling it again does nothing."""
        self._closed = True
        self.__dict__.get("_idle_decode", {}).clear()
        self._manager.close_all()

    def __enter__(self) -> SessionController:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self, call: str) -> None:
        if self.__dict__.get("_closed"):
            raise SessionClosedError(f"{call}: this SessionController is closed")

    @property
    def backend(self) -> str:
        """The resolved backend name."""
        return self._backend

    @property
    def fallback_reason(self) -> Optional[str]:
        """Why ``"auto"`` did not pick NVIDIA, or None."""
        return self._fallback_reason

    def _check_encode_usable(self) -> None:
        if self._encode_unavailable is not None:
            raise BackendUnavailableError(
                f"the {self._backend} backend cannot encode here: {self._encode_unavailable} "
                "(decode sessions work; use backend='auto' or 'software' to encode)"
            )

    def capabilities(self, codec: Union[Codec, str]) -> Capabilities:
        codec = _args.member("SessionController.capabilities", "codec", Codec, codec)
        self._check_encode_usable()
        return _convert.capabilities(
            self._default_provider.capabilities(_convert._core_enum(_core.Codec, codec))
        )

    # -- encode sessions -------------------------------------------------------------

    def start_encode_session(
        self, common: CommonEncodeConfig, backend_config: BackendConfig = None
    ) -> EncoderSessionHandle:
        self._check_open("start_encode_session")
        _args.instance(
            "SessionController.start_encode_session", "common", common, (CommonEncodeConfig,)
        )
        provider = self._provider_for(backend_config)
        sid, generation = self._manager.start_encode(
            _convert.common_encode_config(common), provider
        )
        return EncoderSessionHandle(
            id=sid,
            generation=generation,
            _owner=self._token,
            _life=SessionLife(self._manager, sid, decode=False),
        )

    def _provider_for(self, backend_config: BackendConfig) -> Any:
        self._check_encode_usable()
        if backend_config is None:
            return self._default_provider
        own_type = _BACKEND_CONFIG_TYPES.get(self._backend)
        if isinstance(backend_config, own_type or ()):
            if isinstance(backend_config, SoftwareEncodeConfig):
                # One provider per config: a session restarts its encoder in place only for
                # the provider that made it (a worker's next file, videohw.distributed).
                provider = self._software_providers.get(backend_config)
                if provider is None:
                    provider = _core.make_encoder_provider(
                        self._backend, _convert.software_encode_config(backend_config)
                    )
                    self._software_providers[backend_config] = provider
                return provider
            if isinstance(backend_config, NvidiaEncodeConfig):
                return self._nvidia_provider(backend_config)
            return self._default_provider
        _args.instance(
            "SessionController.start_encode_session",
            "backend_config",
            backend_config,
            (SoftwareEncodeConfig, NvidiaEncodeConfig, VtEncodeConfig),
        )
        if not self._warned_foreign_config:
            log.warning(
                "videohw: %s is for another backend; the %s backend uses its defaults",
                type(backend_config).__name__,
                self._backend,
            )
            self._warned_foreign_config = True
        return self._default_provider

    def _nvidia_provider(self, config: NvidiaEncodeConfig) -> Any:
        # Creating a provider probes the GPU (opens and closes an encoder): once per config.
        if config not in self._nvidia_providers:
            self._nvidia_providers[config] = _core.make_encoder_provider(
                "nvidia",
                _convert.software_encode_config(SoftwareEncodeConfig()),
                _convert.nvidia_encode_config(config),
            )
        return self._nvidia_providers[config]

    def submit(self, handle: EncoderSessionHandle, frame: Frame, block: bool = True) -> None:
        """Queues one frame for encoding. The frame's bytes are copied during the call, so
        the array may be reused at once. With ``block=False`` a full pipeline raises
        ``BackpressureError`` (the frame is not taken) instead of waiting."""
        self._submit(handle, frame, block, "SessionController.submit")

    def _submit(self, handle: EncoderSessionHandle, frame: Frame, block: bool, call: str) -> None:
        check_owned(self._token, handle, EncoderSessionHandle, "submit")
        if not isinstance(frame, Frame):
            raise InvalidFrameError(
                f"submit: frame is a {type(frame).__name__}; expected videohw.Frame"
            )
        block = _args.boolean(call, "block", block)
        self._manager.submit(
            handle.id,
            handle.generation,
            frame.data,
            _convert.pixel_format(frame.format),
            frame.pts,
            frame.force_keyframe,
            frame.pitch or 0,
            block,
        )

    @overload
    def reap(
        self, handle: EncoderSessionHandle, min_packets: int = 0, timeout: Optional[float] = None
    ) -> list[EncodedPacket]: ...
    @overload
    def reap(
        self, handle: DecoderSessionHandle, min_packets: int = 0, timeout: Optional[float] = None
    ) -> list[DecodedFrame]: ...
    def reap(
        self,
        handle: Union[EncoderSessionHandle, DecoderSessionHandle],
        min_packets: int = 0,
        timeout: Optional[float] = None,
    ) -> Union[list[EncodedPacket], list[DecodedFrame]]:
        """Packets (encode) or frames (decode) ready now. Both pipelines run
        asynchronously, so with ``min_packets=0`` (the default) this never waits. With
        ``min_packets=n`` it waits until n are ready or the session closes, and further:
        with a ``timeout``, until that many seconds passed (a consumer thread reaping in a
        loop sleeps while nothing is in flight); without one, until nothing more can come
        out (every submitted frame encoded, every pushed byte decoded; a codec holding
        frames back releases them on ``flush``). Ctrl-C ends a wait with
        ``KeyboardInterrupt``; what was ready stays for the next reap."""
        return self._reap(handle, min_packets, timeout, "SessionController.reap")

    @overload
    def _reap(
        self, handle: EncoderSessionHandle, min_packets: int, timeout: Optional[float], call: str
    ) -> list[EncodedPacket]: ...
    @overload
    def _reap(
        self, handle: DecoderSessionHandle, min_packets: int, timeout: Optional[float], call: str
    ) -> list[DecodedFrame]: ...
    def _reap(
        self,
        handle: Union[EncoderSessionHandle, DecoderSessionHandle],
        min_packets: int,
        timeout: Optional[float],
        call: str,
    ) -> Union[list[EncodedPacket], list[DecodedFrame]]:
        min_packets = _args.integer(call, "min_packets", min_packets, 0, _args.SIZE_MAX)
        timeout = _args.seconds(call, "timeout", timeout, MAX_REAP_TIMEOUT_S, optional=True)
        if isinstance(handle, DecoderSessionHandle):
            check_owned(self._token, handle, DecoderSessionHandle, "reap")
            return self._reap_decoded(handle, min_packets, timeout)
        check_owned(self._token, handle, EncoderSessionHandle, "reap")
        timeout_ns = -1 if timeout is None else int(timeout * 1e9)
        return _convert.packets(
            self._manager.reap(handle.id, handle.generation, min_packets, timeout_ns)
        )

    @overload
    def flush(self, handle: EncoderSessionHandle) -> list[EncodedPacket]: ...
    @overload
    def flush(self, handle: DecoderSessionHandle) -> list[DecodedFrame]: ...
    def flush(
        self, handle: Union[EncoderSessionHandle, DecoderSessionHandle]
    ) -> Union[list[EncodedPacket], list[DecodedFrame]]:
        """Every packet of every frame submitted so far (decode handles: every frame of
        every byte pushed so far); the session stays open."""
        if isinstance(handle, DecoderSessionHandle):
            check_owned(self._token, handle, DecoderSessionHandle, "flush")
            return self._flush_decode(handle)
        check_owned(self._token, handle, EncoderSessionHandle, "flush")
        return _convert.packets(self._manager.flush(handle.id, handle.generation))

    def switch_encode_session(
        self, handle: EncoderSessionHandle, request: SessionSwitchRequest
    ) -> EncoderSessionHandle:
        """Prepares the request's target as the session's next generation and returns its
        handle; the mode says when it takes over (docs/api.md, Switching)."""
        check_owned(self._token, handle, EncoderSessionHandle, "switch_encode_session")
        _args.instance(
            "SessionController.switch_encode_session", "request", request, (SessionSwitchRequest,)
        )
        common, backend_config = request.target
        generation = self._manager.switch_encode(
            handle.id,
            handle.generation,
            _convert.common_encode_config(common),
            self._provider_for(backend_config),
            _convert.switch_mode(request.mode),
            request.force_idr_on_activate,
        )
        return EncoderSessionHandle(
            id=handle.id, generation=generation, _owner=self._token, _life=handle._life
        )

    def close_encode_session(self, handle: EncoderSessionHandle) -> list[EncodedPacket]:
        """End of stream, drain, release buffers, destroy; returns the drained packets."""
        check_owned(self._token, handle, EncoderSessionHandle, "close_encode_session")
        packets = _convert.packets(self._manager.close_encode(handle.id, handle.generation))
        disarm(handle)
        return packets

    def session_state(self, handle: EncoderSessionHandle) -> dict[str, Any]:
        if isinstance(handle, DecoderSessionHandle):
            check_owned(self._token, handle, DecoderSessionHandle, "session_state")
            return self._manager.decode_state(handle.id, handle.generation)
        check_owned(self._token, handle, EncoderSessionHandle, "session_state")
        return self._manager.state(handle.id, handle.generation)

    def telemetry(self, handle: Union[EncoderSessionHandle, DecoderSessionHandle]) -> Telemetry:
        """The session's counters and timings, encode or decode, in one vocabulary
        (docs/api.md, "Encode and decode side by side"); also after close."""
        if isinstance(handle, DecoderSessionHandle):
            check_owned(self._token, handle, DecoderSessionHandle, "telemetry")
            telemetry = Telemetry(self._manager.decode_telemetry(handle.id, handle.generation))
            fallback = self._decode_fallback_reason
        else:
            check_owned(self._token, handle, EncoderSessionHandle, "telemetry")
            telemetry = Telemetry(self._manager.telemetry(handle.id, handle.generation))
            fallback = self._fallback_reason
        # Why "auto" did not pick NVIDIA travels with the session's numbers.
        telemetry["backend_fallback_reason"] = fallback or ""
        return telemetry

    def encode_session(
        self, common: CommonEncodeConfig, backend_config: BackendConfig = None
    ) -> EncodeSession:
        """``with ctl.encode_session(common) as s:`` -- closed when the block ends."""
        return EncodeSession(self, self.start_encode_session(common, backend_config))


class EncodeSession:
    """A handle bound to its controller; a context manager that closes the session."""

    def __init__(self, controller: SessionController, handle: EncoderSessionHandle) -> None:
        _args.instance("EncodeSession", "controller", controller, (SessionController,))
        check_owned(controller._token, handle, EncoderSessionHandle, "EncodeSession")
        self._ctl = controller
        self.handle = handle
        self._closed = False
        self.closing_packets: list[EncodedPacket] = []

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"EncodeSession(id={self.handle.id}, generation={self.handle.generation}, "
            f"backend={self._ctl.backend!r}, {state})"
        )

    def __enter__(self) -> EncodeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._closed:
            self.close()

    def submit(self, frame: Frame, block: bool = True) -> None:
        self._ctl._submit(self.handle, frame, block, "EncodeSession.submit")

    def switch(self, request: SessionSwitchRequest) -> EncoderSessionHandle:
        """Switches this session; ``handle`` follows the new generation."""
        self.handle = self._ctl.switch_encode_session(self.handle, request)
        return self.handle

    def reap(self, min_packets: int = 0, timeout: Optional[float] = None) -> list[EncodedPacket]:
        return self._ctl._reap(self.handle, min_packets, timeout, "EncodeSession.reap")

    def flush(self) -> list[EncodedPacket]:
        return self._ctl.flush(self.handle)

    def close(self) -> list[EncodedPacket]:
        """Closes the session; the drained packets are returned and kept in
        ``closing_packets`` (useful after a ``with`` block)."""
        self.closing_packets = self._ctl.close_encode_session(self.handle)
        self._closed = True
        return self.closing_packets

    def state(self) -> dict[str, Any]:
        return self._ctl.session_state(self.handle)

    def telemetry(self) -> Telemetry:
        return self._ctl.telemetry(self.handle)
