"""Handles are bound to the controller that made them and to their kind: a decode handle
never reaches an encode session of the same id, and controller B never acts on its own
session of an id that came from controller A."""

from __future__ import annotations

import itertools
import warnings
import weakref
from typing import Any

from .errors import InvalidHandleError, StaleSessionError

_tokens = itertools.count(1)


def new_token() -> int:
    """A token for one controller (unique in this process)."""
    return next(_tokens)


def check_owned(token: int, handle: Any, kind: type[Any], call: str) -> None:
    """InvalidHandleError for a handle of another kind (or no handle at all),
    StaleSessionError for one another controller made. Handles built by hand (owner 0) are
    taken on their id and generation, as before handles carried an owner."""
    if not isinstance(handle, kind):
        raise InvalidHandleError(
            f"{call}: handle is a {type(handle).__name__} ({handle!r}); expected {kind.__name__}"
        )
    owner = handle._owner
    if owner and owner != token:
        raise StaleSessionError(
            f"{call}: {handle!r} belongs to another SessionController; a "
            "controller acts only on the sessions it started"
        )


class SessionLife:
    """Shared by every handle of one session (each generation's): when the last of them is
    gone, the session is closed and a ResourceWarning says it was never closed, as Python
    does for a file left open. Closing the session explicitly disarms it."""

    __slots__ = ("finalizer", "__weakref__")

    def __init__(self, manager: Any, sid: int, decode: bool) -> None:
        self.finalizer = weakref.finalize(self, _close_dropped, manager, sid, decode)
        # At interpreter exit the core closes what is left by itself, in order.
        # typeshed declares finalize with empty __slots__; atexit is a property at runtime.
        self.finalizer.atexit = False  # type: ignore[misc]


def _close_dropped(manager: Any, sid: int, decode: bool) -> None:
    if manager.close_dropped(sid, decode):
        kind = "decode" if decode else "encode"
        warnings.warn(
            f"videohw: {kind} session {sid} was never closed and its last handle is "
            "gone; closed now (close it, or use a with block)",
            ResourceWarning,
            stacklevel=2,
        )


def disarm(handle: Any) -> None:
    """The session of `handle` was closed on purpose: no warning, no second close."""
    life = getattr(handle, "_life", None)
    if life is not None:
        life.finalizer.detach()
