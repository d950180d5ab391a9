"""time_limit: symbolic work is cut at its limit with an InputError, else untouched."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from threefactors.deadline import time_limit
from threefactors.errors import InputError


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_work_past_the_limit_is_an_input_error_and_the_alarm_is_restored() -> None:
    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(InputError, match=r"loss='x': spinning took more than 0\.2 s"):
        with time_limit(0.2, "loss", "x", "spinning"):
            _spin(5.0)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_work_within_the_limit_and_no_limit_run_to_the_end() -> None:
    with time_limit(5.0, "loss", "x", "spinning"):
        _spin(0.05)
    with time_limit(None, "loss", "x", "spinning"):
        _spin(0.05)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_outside_the_main_thread_the_work_is_not_limited() -> None:
    finished = []

    def work() -> None:
        with time_limit(0.01, "loss", "x", "spinning"):
            _spin(0.1)
        finished.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert finished == [True]
