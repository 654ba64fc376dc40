"""``python -m videohw``: the same command as ``videohw`` (see docs/cli.md)."""

import sys

from .cli import main

sys.exit(main())
