"""SessionController: the public entry point for encode sessions."""

from __future__ import annotations

import logging
from typing import Any, Optional, Union

from . import _convert, _core
from .contract import (
    Codec,
    CommonEncodeConfig,
    EncodedPacket,
    EncoderSessionHandle,
    Frame,
    NvidiaEncodeConfig,
    SoftwareEncodeConfig,
    VtEncodeConfig,
    Capabilities,
)
from .errors import ConfigError, InvalidFrameError

log = logging.getLogger("videohw")

BackendConfig = Union[SoftwareEncodeConfig, NvidiaEncodeConfig, VtEncodeConfig, None]

_BACKEND_CONFIG_TYPES = {"software": SoftwareEncodeConfig, "nvidia": NvidiaEncodeConfig}


def available_backends() -> dict[str, Optional[str]]:
    """Encode backends of this build: name -> None when usable here, else why not."""
    return {name: (reason or None) for name, reason in _core.encode_backend_availability().items()}


class SessionController:
    """Creates and drives encode sessions on one backend.

    ``backend`` is ``"auto"`` (NVIDIA where usable, else software), ``"software"`` or
    ``"nvidia"``; an unusable explicit backend raises ``BackendUnavailableError`` saying why.
    """

    def __init__(self, backend: str = "auto") -> None:
        if backend not in ("auto", "software", "nvidia"):
            raise ConfigError(f"SessionController.backend: {backend!r}; expected 'auto', "
                              "'software' or 'nvidia'")
        self._requested = backend
        self._backend, self._fallback_reason = _core.resolve_encode_backend(backend)
        if self._fallback_reason:
            log.info("videohw: backend 'auto' uses %s (%s)", self._backend, self._fallback_reason)
        # Fails now, with the cause, if the backend cannot be used on this machine.
        self._default_provider = _core.make_encoder_provider(
            self._backend, _convert.software_encode_config(SoftwareEncodeConfig()))
        self._manager = _core.SessionManager()
        self._warned_foreign_config = False

    def __repr__(self) -> str:
        return f"SessionController(backend={self._backend!r}, requested={self._requested!r})"

    @property
    def backend(self) -> str:
        """The resolved backend name."""
        return self._backend

    @property
    def fallback_reason(self) -> Optional[str]:
        """Why ``"auto"`` did not pick NVIDIA, or None."""
        return self._fallback_reason

    def capabilities(self, codec: Union[Codec, str]) -> Capabilities:
        return _convert.capabilities(self._default_provider.capabilities(
            _convert._core_enum(_core.Codec, Codec(codec))))

    # -- encode sessions -------------------------------------------------------------

    def start_encode_session(self, common: CommonEncodeConfig,
                             backend_config: BackendConfig = None) -> EncoderSessionHandle:
        if not isinstance(common, CommonEncodeConfig):
            raise ConfigError(f"start_encode_session: common is a {type(common).__name__}; "
                              "expected CommonEncodeConfig")
        provider = self._provider_for(backend_config)
        sid, generation = self._manager.start_encode(_convert.common_encode_config(common),
                                                     provider)
        return EncoderSessionHandle(id=sid, generation=generation)

    def _provider_for(self, backend_config: BackendConfig) -> Any:
        if backend_config is None:
            return self._default_provider
        own_type = _BACKEND_CONFIG_TYPES.get(self._backend)
        if isinstance(backend_config, own_type or ()):
            if isinstance(backend_config, SoftwareEncodeConfig):
                return _core.make_encoder_provider(
                    self._backend, _convert.software_encode_config(backend_config))
            return self._default_provider
        if not isinstance(backend_config, (SoftwareEncodeConfig, NvidiaEncodeConfig,
                                           VtEncodeConfig)):
            raise ConfigError(f"backend_config: a {type(backend_config).__name__}; expected "
                              "SoftwareEncodeConfig, NvidiaEncodeConfig, VtEncodeConfig or None")
        if not self._warned_foreign_config:
            log.warning("videohw: %s is for another backend; the %s backend uses its defaults",
                        type(backend_config).__name__, self._backend)
            self._warned_foreign_config = True
        return self._default_provider

    def submit(self, handle: EncoderSessionHandle, frame: Frame) -> None:
        """Encodes one frame. The buffer is read during the call only."""
        if not isinstance(frame, Frame):
            raise InvalidFrameError(f"submit: frame is a {type(frame).__name__}; expected "
                                    "videohw.Frame")
        self._manager.submit(handle.id, handle.generation, frame.data,
                             _convert.pixel_format(frame.format), frame.pts,
                             frame.force_keyframe, frame.pitch or 0)

    def reap(self, handle: EncoderSessionHandle) -> list[EncodedPacket]:
        """Packets ready now; never blocks on the encoder."""
        return _convert.packets(self._manager.reap(handle.id, handle.generation))

    def flush(self, handle: EncoderSessionHandle) -> list[EncodedPacket]:
        """Every packet of every frame submitted so far; the session stays open."""
        return _convert.packets(self._manager.flush(handle.id, handle.generation))

    def close_encode_session(self, handle: EncoderSessionHandle) -> list[EncodedPacket]:
        """End of stream, drain, release buffers, destroy; returns the drained packets."""
        return _convert.packets(self._manager.close_encode(handle.id, handle.generation))

    def session_state(self, handle: EncoderSessionHandle) -> dict[str, Any]:
        return self._manager.state(handle.id, handle.generation)

    def telemetry(self, handle: EncoderSessionHandle) -> dict[str, Any]:
        return self._manager.telemetry(handle.id, handle.generation)

    def encode_session(self, common: CommonEncodeConfig,
                       backend_config: BackendConfig = None) -> "EncodeSession":
        """``with ctl.encode_session(common) as s:`` -- closed when the block ends."""
        return EncodeSession(self, self.start_encode_session(common, backend_config))


class EncodeSession:
    """A handle bound to its controller; a context manager that closes the session."""

    def __init__(self, controller: SessionController, handle: EncoderSessionHandle) -> None:
        self._ctl = controller
        self.handle = handle
        self._closed = False
        self.closing_packets: list[EncodedPacket] = []

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"EncodeSession(id={self.handle.id}, generation={self.handle.generation}, "
                f"backend={self._ctl.backend!r}, {state})")

    def __enter__(self) -> "EncodeSession":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._closed:
            self.close()

    def submit(self, frame: Frame) -> None:
        self._ctl.submit(self.handle, frame)

    def reap(self) -> list[EncodedPacket]:
        return self._ctl.reap(self.handle)

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

    def telemetry(self) -> dict[str, Any]:
        return self._ctl.telemetry(self.handle)
