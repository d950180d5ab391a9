"""Progress lines on stderr for anything longer than a couple of seconds."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints ``label: i/total (elapsed, ETA) note`` on stderr, at most every ``every`` seconds.

    The ETA assumes the remaining items take the mean time of the finished ones:
    elapsed · (total − done) / done.
    """

    def __init__(self, label: str, total: int, every: float = 2.0, enabled: bool = True) -> None:
        self.label, self.total, self.every, self.enabled = label, total, every, enabled
        self.start = self._last = time.perf_counter()

    def update(self, done: int, note: str = "", force: bool = False) -> None:
        """Report ``done`` of ``total``; ``force`` prints even within ``every`` seconds."""
        now = time.perf_counter()
        if not self.enabled or (now - self._last < self.every and done < self.total and not force):
            return
        self._last = now
        elapsed = now - self.start
        eta = f", ETA {elapsed * (self.total - done) / done:.0f} s" if 0 < done < self.total else ""
        tail = f" {note}" if note else ""
        print(
            f"{self.label}: {done}/{self.total} ({elapsed:.1f} s{eta}){tail}",
            file=sys.stderr,
            flush=True,
        )
