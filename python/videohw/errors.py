"""Exceptions of videohw (docs/api.md, "Errors"). Every one derives from VideoHwError.

The C++ core raises these same classes (cpp/bindings/errors.cpp): each with its message,
``UnsupportedConfigError`` with its list of problems.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Union


class VideoHwError(Exception):
    """Base of every videohw error."""


class ConfigError(VideoHwError, ValueError):
    """A config field is invalid; the message names the field, the value and the range."""


class InvalidFrameError(VideoHwError, ValueError):
    """A frame's buffer, dtype, size or format is wrong; the session stays usable."""


class InvalidTypeError(ConfigError, TypeError):
    """An argument of the wrong type; the message names the call, the parameter and what
    it takes. A ``TypeError`` as Python expects, and a ``ConfigError`` as the calls that
    checked types before it was added raised."""


class InvalidHandleError(InvalidTypeError):
    """A handle of the wrong kind for the call (a decode handle where an encode one is
    expected, or anything that is not a handle)."""


class UnsupportedConfigError(ConfigError):
    """A valid config the backend cannot do. ``problems`` lists every unsupported field."""

    problems: list[str]

    def __init__(self, problems: Union[Iterable[str], str]) -> None:
        # A single message is one problem: the core raises some with a plain string.
        self.problems = [problems] if isinstance(problems, str) else [str(p) for p in problems]
        count = len(self.problems)
        super().__init__(
            f"unsupported configuration ({count} problem{'s' * (count != 1)}): "
            + "; ".join(self.problems)
        )

    def __reduce__(self) -> tuple:
        # Pickle the list, not the joined message, so .problems survives the round trip.
        return (type(self), (self.problems,))


class BackendUnavailableError(VideoHwError, RuntimeError):
    """The backend is missing or unusable on this machine; the message says why."""


class StaleSessionError(VideoHwError):
    """The handle's generation is older than the session's active generation."""


class SessionClosedError(VideoHwError):
    """The session was closed (or never existed)."""


class SwitchError(VideoHwError):
    """A session switch could not be prepared; the current session keeps running."""


class BackpressureError(VideoHwError):
    """A non-blocking submit found the pipeline full."""


class DecodeError(VideoHwError):
    """A bitstream could not be decoded."""


class EncodeError(VideoHwError):
    """The encoder itself failed; the backend's message is included."""


class MediaError(VideoHwError):
    """A media file could not be opened, read or written; the message names the path and
    what failed (an I/O error keeps the operating system's text)."""


class InvalidMediaError(MediaError, ValueError):
    """The input itself is at fault: not a media file, truncated, no video stream, an index
    that points past the end, a codec no backend decodes."""
