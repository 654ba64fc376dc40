"""``python -m videohw.cli``: the same command as ``videohw``."""

import sys

from . import main

sys.exit(main())
