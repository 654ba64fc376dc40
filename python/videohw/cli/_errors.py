"""How a ``videohw`` command ends and complains: exit statuses, the error reported as one
line on stderr, warnings."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """A failure reported as one line on stderr with an exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _warn(message: str) -> None:
    print(f"videohw: warning: {message}", file=sys.stderr)
