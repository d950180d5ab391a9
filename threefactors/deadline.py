"""A wall-clock limit on work whose cost cannot be told in advance (sympy's simplification).

sympy has no way to cancel a computation, and how long ``simplify`` takes depends on the
structure of an expression more than on its size (a 3-deep ``tanh`` nest costs more than a
40-term sum of sines). :func:`time_limit` interrupts the work with ``SIGALRM`` after the
given seconds and turns that into an :class:`~threefactors.errors.InputError` naming the
parameter: one line at the CLI instead of minutes of waiting. It applies in the main thread
of a POSIX process when no other interval timer is running; elsewhere the work runs
unbounded (a signal can only be delivered to the main thread).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from threefactors.errors import InputError


class _Expired(BaseException):
    """Raised by the alarm inside the limited block (a BaseException, so that no
    ``except Exception`` in the library code being run swallows it)."""


def _expire(_signum: int, _frame: Any) -> None:
    raise _Expired


@contextmanager
def time_limit(seconds: float | None, parameter: str, value: Any, what: str) -> Iterator[None]:
    """Run the block for at most ``seconds`` (None: no limit), else InputError(parameter,
    value, "<what> took more than … s")."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Expired:
        raise InputError(
            parameter, value, f"{what} took more than {seconds:g} s (the time limit)"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
