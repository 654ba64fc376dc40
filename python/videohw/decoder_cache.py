"""What decode backends keep in the process between sessions, and the limits on it.

A decode session that ends cleanly leaves its hardware decoder and its output buffers to
the next session instead of giving them back to the driver: creating an NVDEC decoder is
most of a new session's time to its first frame, and page-locked host buffers cost
milliseconds each to allocate. See docs/decode.md ("Warm sessions").
"""

from __future__ import annotations

from typing import Optional

from . import _core
from .errors import ConfigError, InvalidTypeError

_LIMITS = ("decoders", "host_bytes", "device_bytes")


def _backend(call: str, backend: object) -> str:
    if not isinstance(backend, str):
        raise InvalidTypeError(f"{call}: backend must be a str, not {type(backend).__name__}")
    return backend


def decoder_cache(backend: str = "nvidia") -> dict[str, int]:
    """Counts and limits of what ``backend`` keeps now (``{}`` where it keeps nothing):
    for ``"nvidia"``, ``decoders_parked`` / ``_adopted`` / ``_destroyed`` / ``_limit`` and,
    for page-locked host and device output buffers, ``*_buffers_idle``, ``*_bytes_idle``,
    ``*_buffers_reused``, ``*_bytes_limit``."""
    return dict(_core.decode_backend_cache(_backend("decoder_cache", backend)))


def set_decoder_cache_limits(
    backend: str = "nvidia",
    *,
    decoders: Optional[int] = None,
    host_bytes: Optional[int] = None,
    device_bytes: Optional[int] = None,
) -> None:
    """Bounds what ``backend`` keeps between sessions; 0 keeps nothing. What is kept beyond
    a new bound is freed now. Defaults: 32 decoders, 4 GiB of page-locked host buffers,
    2 GiB of device buffers."""
    _backend("set_decoder_cache_limits", backend)
    values = {"decoders": decoders, "host_bytes": host_bytes, "device_bytes": device_bytes}
    for name in _LIMITS:
        value = values[name]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypeError(
                f"set_decoder_cache_limits: {name} must be an int, not {type(value).__name__}"
            )
        if not 0 <= value <= 2**62:
            raise ConfigError(
                f"set_decoder_cache_limits: {name} {value} is out of range; expected 0 "
                "(keep nothing) to 2**62"
            )
        _core.set_decode_backend_cache_limit(backend, name, value)


def release_decoder_cache(backend: Optional[str] = None) -> None:
    """Frees everything the backend (every backend when None) keeps idle now. Sessions that
    are open keep theirs; what they leave when they end is kept again up to the limits."""
    _core.release_decode_backend_caches(
        "" if backend is None else _backend("release_decoder_cache", backend)
    )
