"""The ``videohw`` command: ``encode``, ``decode``, ``transcode``, ``batch``, ``probe`` and ``caps``
(see docs/cli.md), one module per command.

Uses the public API only. Exit status: 0 success; 1 encode/verify failure or a runtime
error (backend unavailable, I/O, missing ffmpeg); 2 invalid command line or configuration
(one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Optional

from ._errors import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_USAGE, CliError
from ._log import add_verbose_option, configure
from .batch import add_batch_parser
from .caps import add_caps_parser
from .decode import add_decode_parser
from .encode import add_encode_parser
from .probe import add_probe_parser
from .transcode import add_transcode_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videohw",
        description="Video encode sessions (software: libx264/libx265; NVIDIA NVENC).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_encode_parser(sub)
    add_caps_parser(sub)
    add_decode_parser(sub)
    add_probe_parser(sub)
    add_transcode_parser(sub)
    add_batch_parser(sub)
    add_verbose_option(parser, sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"videohw {args.command}"
    try:
        configure(args.verbose)
        return args.func(args)
    except CliError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout went away (``videohw caps | head``): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAIL
    except OSError as exc:  # writing the output (disk full, ...), reading the input
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except Exception as exc:  # noqa: BLE001 -- library errors: one line, not a traceback
        vh = sys.modules.get("videohw")
        if vh is not None and isinstance(exc, getattr(vh, "VideoHwError", ())):
            code = EXIT_USAGE if isinstance(exc, vh.ConfigError) else EXIT_FAIL
            print(f"{prog}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return code
        raise
