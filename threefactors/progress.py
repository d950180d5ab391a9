"""Progress lines on stderr for anything longer than a couple of seconds."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints ``label: i/total (elapsed)`` on stderr, at most every ``every`` seconds."""

    def __init__(self, label: str, total: int, every: float = 2.0, enabled: bool = True) -> None:
        self.label, self.total, self.every, self.enabled = label, total, every, enabled
        self.start = self._last = time.perf_counter()

    def update(self, done: int, note: str = "") -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self._last < self.every and done < self.total):
            return
        self._last = now
        tail = f" {note}" if note else ""
        print(
            f"{self.label}: {done}/{self.total} ({now - self.start:.1f} s){tail}",
            file=sys.stderr,
            flush=True,
        )
