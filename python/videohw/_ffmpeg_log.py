"""FFmpeg's own log lines as records of the logger ``videohw.ffmpeg`` (docs/logging.md).

The C++ core captures av_log's lines instead of letting FFmpeg print them, and queues the
ones at or below its level; a forwarder thread of the core calls :func:`_forward` with the
GIL and no videohw lock held, and the records are made here. Quiet by default:
``videohw.ffmpeg`` has a NullHandler and stops at WARNING.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import warnings
from typing import Any, Union

from . import _core

LOGGER_NAME = "videohw.ffmpeg"
logger = logging.getLogger(LOGGER_NAME)

ENV_LEVEL = "VIDEOHW_FFMPEG_LOG_LEVEL"

# av_log levels (libavutil/log.h).
AV_LOG_QUIET, AV_LOG_PANIC, AV_LOG_FATAL, AV_LOG_ERROR = -8, 0, 8, 16
AV_LOG_WARNING, AV_LOG_INFO, AV_LOG_VERBOSE, AV_LOG_DEBUG, AV_LOG_TRACE = 24, 32, 40, 48, 56

# Below logging.DEBUG, as FFmpeg's trace is below its debug.
TRACE = 5

_AV_LEVELS = (
    AV_LOG_PANIC,
    AV_LOG_FATAL,
    AV_LOG_ERROR,
    AV_LOG_WARNING,
    AV_LOG_INFO,
    AV_LOG_VERBOSE,
    AV_LOG_DEBUG,
    AV_LOG_TRACE,
)

# One take at most this many lines: the queue's capacity, so one take empties it.
_BATCH = int(_core._ffmpeg_log_stats()["capacity"])


def python_level(av_level: int) -> int:
    """The logging level of a line FFmpeg logged at ``av_level``."""
    if av_level <= AV_LOG_FATAL:
        return logging.CRITICAL
    if av_level <= AV_LOG_ERROR:
        return logging.ERROR
    if av_level <= AV_LOG_WARNING:
        return logging.WARNING
    if av_level <= AV_LOG_INFO:
        return logging.INFO
    if av_level <= AV_LOG_DEBUG:
        return logging.DEBUG
    return TRACE


def av_level(level: int) -> int:
    """The av_log level that lets through exactly the lines a logger at ``level`` keeps."""
    kept = [av for av in _AV_LEVELS if python_level(av) >= level]
    return max(kept) if kept else AV_LOG_QUIET


def _logging_level(level: Union[int, str]) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, str)):
        raise TypeError(
            f"set_ffmpeg_log_level: level is a {type(level).__name__}; expected a "
            'logging level (logging.DEBUG, 30, "INFO", ...)'
        )
    if isinstance(level, int):
        return level
    name = level.strip().upper()
    if name == "TRACE":
        return TRACE
    value = logging.getLevelName(name)
    if not isinstance(value, int):
        raise ValueError(
            f"set_ffmpeg_log_level: {level!r} is not a logging level name; "
            "expected CRITICAL, ERROR, WARNING, INFO, DEBUG or TRACE"
        )
    return value


def set_ffmpeg_log_level(level: Union[int, str]) -> None:
    """Sets the level of the ``videohw.ffmpeg`` logger and the level FFmpeg formats lines at,
    together: lines the logger would drop are never formatted. ``level`` is a logging level
    (``logging.INFO``, ``"DEBUG"``, ``"TRACE"`` for FFmpeg's trace lines). Lowering the level
    with ``logger.setLevel`` alone shows nothing new, because FFmpeg still stops at the old
    one; raising it that way works but still pays for formatting."""
    value = _logging_level(level)
    logger.setLevel(value)
    _core._set_ffmpeg_log_level(av_level(value))


def ffmpeg_log_stats() -> dict[str, Any]:
    """Counters of the line queue: ``level`` (the av_log level lines are kept at),
    ``capacity`` (lines that may wait at once), ``queued`` (waiting now), ``lines`` (queued
    so far), ``dropped`` (lost because the queue was full), ``forwarder_running``."""
    return dict(_core._ffmpeg_log_stats())


def flush_ffmpeg_log() -> None:
    """Hands every line queued so far to logging, on the calling thread, before returning.
    Lines arrive by themselves a moment after FFmpeg logs them; this is for when the order
    matters (before reading a log, in a test)."""
    _forward()


# Serialises forwarding (the forwarder thread, flush_ffmpeg_log, exit), so records leave in
# the order FFmpeg logged them. Reentrant: a handler may flush.
_emit_lock = threading.RLock()
_dropped_reported = 0


def _forward() -> None:
    global _dropped_reported
    with _emit_lock:
        for av, component, text, unix_ns, thread_id in _core._ffmpeg_log_take(_BATCH):
            _emit(av, component or None, text, unix_ns, thread_id)
        dropped = int(_core._ffmpeg_log_stats()["dropped"])
        if dropped > _dropped_reported:
            lost, _dropped_reported = dropped - _dropped_reported, dropped
            if logger.isEnabledFor(logging.WARNING):
                logger.warning(
                    "%d FFmpeg log lines were dropped: they came faster than the "
                    "handlers took them (at most %d wait at once)",
                    lost,
                    _BATCH,
                    extra={
                        "ffmpeg_component": None,
                        "ffmpeg_level": None,
                        "ffmpeg_thread_id": None,
                        "ffmpeg_dropped": lost,
                    },
                )


def _emit(av: int, component: Any, text: str, unix_ns: int, thread_id: int) -> None:
    level = python_level(av)
    if not logger.isEnabledFor(level):
        return
    record = logger.makeRecord(
        LOGGER_NAME,
        level,
        "(ffmpeg)",
        0,
        text,
        (),
        None,
        extra={"ffmpeg_component": component, "ffmpeg_level": av, "ffmpeg_thread_id": thread_id},
    )
    # The time FFmpeg logged it, not the time the forwarder got to it.
    created = unix_ns / 1e9
    record.relativeCreated += (created - record.created) * 1000
    record.created = created
    record.msecs = float((unix_ns % 1_000_000_000) // 1_000_000)
    logger.handle(record)


def _shutdown() -> None:
    # Stop first: the forwarder may be inside _forward, which a held _emit_lock would block.
    _core._ffmpeg_log_stop()
    _forward()


def _after_fork_in_child() -> None:
    global _emit_lock
    _emit_lock = threading.RLock()  # the parent's forwarder may have held it


def _install() -> None:
    # On videohw.ffmpeg, not on videohw: videohw's own few warnings (the backend fallback,
    # docs/nvidia.md) are meant to reach stderr through Python's last resort when nothing is
    # configured; FFmpeg's lines never are.
    logger.addHandler(logging.NullHandler())
    env = os.environ.get(ENV_LEVEL, "").strip()
    parsed = _core._parse_ffmpeg_log_level(env) if env else None
    if env and parsed is None:
        warnings.warn(
            f"{ENV_LEVEL}={env!r} is not an FFmpeg log level (quiet, panic, fatal, "
            "error, warning, info, verbose, debug, trace, or a number); ignored",
            RuntimeWarning,
            stacklevel=3,
        )
    if parsed is not None:
        logger.setLevel(python_level(parsed) if parsed >= 0 else logging.CRITICAL + 1)
        _core._set_ffmpeg_log_level(parsed)
    else:
        if logger.level == logging.NOTSET:  # an application's own setting stands
            logger.setLevel(logging.WARNING)
        _core._set_ffmpeg_log_level(av_level(logger.getEffectiveLevel()))
    _core._ffmpeg_log_forward_with(_forward)
    # Registered after logging's own (imported above), so it runs before logging shuts down.
    atexit.register(_shutdown)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


_install()
