"""Checks of the arguments public calls hand to the core. pybind11 answers a wrong type or
an int its C++ parameter cannot hold with a TypeError that dumps the binding's signature
("incompatible function arguments"), names no parameter of the public call, and for some
values (an int past the C++ type) is not even a type error. These checks run first, so
the error names the call and the parameter: ``InvalidTypeError`` (a ``TypeError`` and a
``ConfigError``) for a wrong type, ``ConfigError`` (a ``ValueError``) for a value out of
range, a bool where a number is expected included."""

from __future__ import annotations

import math
import operator
from enum import Enum
from numbers import Real
from typing import Any, Literal, Optional, TypeVar, overload

import numpy as np

from .errors import ConfigError, InvalidTypeError

E = TypeVar("E", bound=Enum)

# Ranges of the C++ parameters the checked values end up in.
INT32_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SIZE_MAX = 2**64 - 1


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _given(value: Any) -> str:
    kind = type(value).__name__
    return f"{_shown(value)} is {'an' if kind[:1] in 'aeiouAEIOU' else 'a'} {kind}"


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


@overload
def integer(
    call: str, name: str, value: Any, lo: int, hi: int, *, optional: Literal[False] = False
) -> int: ...
@overload
def integer(
    call: str, name: str, value: Any, lo: int, hi: int, *, optional: bool
) -> Optional[int]: ...
def integer(
    call: str, name: str, value: Any, lo: int, hi: int, *, optional: bool = False
) -> Optional[int]:
    """``value`` as an int in ``lo..hi`` (numpy integers accepted); None if ``optional``."""
    if value is None and optional:
        return None
    wanted = f"an int in {lo}..{hi}" + (" or None" if optional else "")
    if _is_bool(value):
        raise ConfigError(f"{call}: {name} {value!r} is a bool; expected {wanted}")
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidTypeError(f"{call}: {name} {_given(value)}; expected {wanted}") from None
    if not lo <= number <= hi:
        raise ConfigError(f"{call}: {name} {number} is outside {lo}..{hi}")
    return number


@overload
def seconds(
    call: str, name: str, value: Any, maximum: float, *, optional: Literal[False] = False
) -> float: ...
@overload
def seconds(
    call: str, name: str, value: Any, maximum: float, *, optional: bool
) -> Optional[float]: ...
def seconds(
    call: str, name: str, value: Any, maximum: float, *, optional: bool = False
) -> Optional[float]:
    """``value`` as a finite number of seconds in ``0..maximum``; None if ``optional``."""
    if value is None and optional:
        return None
    wanted = f"seconds in 0..{maximum:.3g}" + (" or None" if optional else "")
    if _is_bool(value):
        raise ConfigError(f"{call}: {name} {value!r} is a bool; expected {wanted}")
    if not isinstance(value, (Real, np.integer, np.floating)):
        raise InvalidTypeError(f"{call}: {name} {_given(value)}; expected {wanted}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float: as out of range as infinity
        number = math.inf
    if not (math.isfinite(number) and 0 <= number <= maximum):
        raise ConfigError(f"{call}: {name} {_shown(value)} is outside 0..{maximum:.3g} seconds")
    return number


def boolean(call: str, name: str, value: Any) -> bool:
    """``value`` as a bool; only True and False (numpy's too) are taken."""
    if not _is_bool(value):
        raise InvalidTypeError(f"{call}: {name} {_given(value)}; expected True or False")
    return bool(value)


def member(call: str, name: str, enum: type[E], value: Any) -> E:
    """A member of ``enum`` from a member or its value string."""
    if isinstance(value, enum):
        return value
    choices = ", ".join(repr(m.value) for m in enum)
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{call}: {name} {_given(value)}; expected a {enum.__name__} or one of {choices}"
        )
    try:
        return enum(value)
    except ValueError:
        raise ConfigError(
            f"{call}: {name} {_shown(value)} is not a {enum.__name__}; expected one of {choices}"
        ) from None


def choice(
    call: str, name: str, value: Any, choices: tuple[str, ...], *, optional: bool = False
) -> Optional[str]:
    """One of the strings ``choices``; None if ``optional``."""
    if value is None and optional:
        return None
    wanted = ", ".join(repr(c) for c in choices) + (" or None" if optional else "")
    if not isinstance(value, str):
        raise InvalidTypeError(f"{call}: {name} {_given(value)}; expected one of {wanted}")
    if value not in choices:
        raise ConfigError(f"{call}: {name} {_shown(value)}; expected one of {wanted}")
    return value


def instance(
    call: str, name: str, value: Any, kinds: tuple[type, ...], *, optional: bool = False
) -> Any:
    """``value`` if it is one of ``kinds`` (or None if ``optional``)."""
    if isinstance(value, kinds) or (optional and value is None):
        return value
    wanted = " or ".join(k.__name__ for k in kinds) + (" or None" if optional else "")
    raise InvalidTypeError(f"{call}: {name} {_given(value)}; expected {wanted}")
