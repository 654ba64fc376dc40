"""A tiny progress bar for the CLI: one line on stderr with percent, rate and ETA.

No dependencies. Redrawn at most ``1 / min_interval`` times a second (10 by default) so a
fast loop does not spend its time printing, and off when the stream is not a terminal.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO


def _clock_text(seconds: float) -> str:
    seconds = int(max(0.0, seconds) + 0.5)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """``with ProgressBar(total, label="encode") as bar: ... bar.update()``.

    ``enabled``: None = only when ``stream`` is a terminal; True = always; False = never.
    ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        unit: str = "fps",
        stream: Optional[TextIO] = None,
        enabled: Optional[bool] = None,
        min_interval: float = 0.1,
        width: int = 28,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(0, int(total))
        self.count = 0
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._min_interval = min_interval
        self._width = width
        self._clock = clock
        self._start = clock()
        self._last_draw = float("-inf")
        self._last_len = 0
        self._closed = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.count += n
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last_draw >= self._min_interval or self.count >= self.total:
            self._draw(now)

    def render(self, now: Optional[float] = None) -> str:
        """The bar's text for the current count (no carriage return)."""
        now = self._clock() if now is None else now
        elapsed = now - self._start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        if self.total:
            frac = min(1.0, self.count / self.total)
            filled = int(frac * self._width)
            bar = "#" * filled + "-" * (self._width - filled)
            left = (self.total - self.count) / rate if rate > 0 else None
            eta = "ETA " + (_clock_text(left) if left is not None else "--:--")
            head = f"{int(frac * 100):3d}% |{bar}| {self.count}/{self.total}"
        else:
            head, eta = f"{self.count}", ""
        parts = [self.label, head, f"{rate:.1f} {self.unit}", eta]
        return " ".join(p for p in parts if p)

    def _draw(self, now: float) -> None:
        text = self.render(now)
        pad = " " * max(0, self._last_len - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._last_len = len(text)
        self._last_draw = now

    def close(self) -> None:
        """Draws the final state and ends the line (once)."""
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            self._draw(self._clock())
            self.stream.write("\n")
            self.stream.flush()
