"""Handles are bound to the controller that made them and to their kind: a decode handle
never reaches an encode session of the same id, and controller B never acts on its own
session of an id that came from controller A."""

from __future__ import annotations

import itertools
from typing import Any

from .errors import InvalidHandleError, StaleSessionError

_tokens = itertools.count(1)


def new_token() -> int:
    """A token for one controller (unique in this process)."""
    return next(_tokens)


def check_owned(token: int, handle: Any, kind: type, call: str) -> None:
    """InvalidHandleError for a handle of another kind (or no handle at all),
    StaleSessionError for one another controller made. Handles built by hand (owner 0) are
    taken on their id and generation, as before handles carried an owner."""
    if not isinstance(handle, kind):
        raise InvalidHandleError(f"{call}: handle is a {type(handle).__name__} ({handle!r}); "
                                 f"expected {kind.__name__}")
    owner = handle._owner
    if owner and owner != token:
        raise StaleSessionError(f"{call}: {handle!r} belongs to another SessionController; a "
                                "controller acts only on the sessions it started")
