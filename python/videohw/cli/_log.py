"""``-v`` / ``--verbose`` for every ``videohw`` command (docs/cli.md, docs/logging.md).

Without it the command is as quiet as the library: FFmpeg's lines go nowhere, and the
decode summary counts its warnings and errors. ``-v`` prints FFmpeg's warnings and errors
on stderr as they happen, ``-vv`` adds its info lines, ``-vvv`` its debug lines, ``-vvvv``
its trace lines.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

_HELP = (
    "FFmpeg's warnings and errors on stderr as they happen; -vv adds info lines, -vvv debug lines"
)

# Logging levels of FFmpeg's lines for -vv, -vvv, -vvvv.
_MORE = {2: "INFO", 3: "DEBUG", 4: "TRACE"}


def add_verbose_option(parser: argparse.ArgumentParser, sub: Any) -> None:
    """``-v`` before the command and after it (``videohw -v decode f``, ``videohw decode f
    -v``). The commands' own default is left unset, so it never overwrites the first."""
    parser.add_argument("-v", "--verbose", action="count", default=0, help=_HELP)
    for command in sub.choices.values():
        command.add_argument(
            "-v", "--verbose", action="count", default=argparse.SUPPRESS, help=_HELP
        )


class _Format(logging.Formatter):
    """``videohw: ffmpeg error: [h264 @ 0x...] error while decoding MB 3 4``, the shape of
    the command's own warnings."""

    def format(self, record: logging.LogRecord) -> str:
        source = record.name.split(".", 1)[1] + " " if "." in record.name else ""
        level = "trace" if record.levelno < logging.DEBUG else record.levelname.lower()
        return f"videohw: {source}{level}: {record.getMessage()}"


def configure(verbosity: int) -> None:
    """Shows FFmpeg's log records on stderr from ``verbosity`` 1 on. videohw's own warnings
    reach stderr either way (Python's last resort prints them)."""
    if verbosity <= 0:
        return
    import videohw as vh

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Format())
    logging.getLogger("videohw.ffmpeg").addHandler(handler)
    level = _MORE.get(min(verbosity, max(_MORE)))
    if level:
        vh.set_ffmpeg_log_level(level)


def ffmpeg_summary(telemetry: dict, verbosity: int) -> str:
    """One summary line with the FFmpeg warnings and errors of a session, after the lines
    themselves (-v) have been printed; "" when there were none."""
    import videohw as vh

    vh.flush_ffmpeg_log()
    warnings, errors = telemetry.get("ffmpeg_warnings", 0), telemetry.get("ffmpeg_errors", 0)
    if not warnings and not errors:
        return ""
    hint = "" if verbosity > 0 else " (-v shows them)"
    return f"  ffmpeg: {warnings} warnings, {errors} errors{hint}"
