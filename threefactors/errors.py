"""Input errors that name the parameter and the value at fault.

Every layer (Python API and CLI) raises :class:`InputError` for bad input; the CLI turns it
into one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import math
from typing import Any

#: Characters of a value an error message shows whole; a longer one is cut in the middle.
SHOWN = 100


def shown(value: Any) -> str:
    """``repr(value)``; past SHOWN characters its first 45 and last 40 around its length (a
    117-digit number or a 50,000-character formula stays one short line, and a path keeps
    the file name at its end)."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's 4300-digit conversion limit
        return f"<{type(value).__name__} too large to print>"
    if len(text) <= SHOWN:
        return text
    return f"{text[:45]}…({len(text)} characters)…{text[-40:]}"


class InputError(ValueError):
    """Bad input: ``parameter`` had ``value``, which is wrong because ``reason``; the
    message shows the value cut short (:func:`shown`)."""

    def __init__(self, parameter: str, value: Any, reason: str) -> None:
        self.parameter = parameter
        self.value = value
        self.reason = reason
        super().__init__(f"{parameter}={shown(value)}: {reason}")


def require(condition: bool, parameter: str, value: Any, reason: str) -> None:
    """Raise :class:`InputError` unless ``condition`` holds."""
    if not condition:
        raise InputError(parameter, value, reason)


def check_positive(parameter: str, value: float) -> float:
    """``value`` > 0 and finite (learning rate, time step, temperature)."""
    require(_finite(value) and value > 0, parameter, value, "must be > 0 and finite")
    return value


def check_batch(batch_size: int, examples: int | None = None, parameter: str = "batch") -> int:
    """1 ≤ S (≤ N when the number of examples N is finite)."""
    require(
        _finite(batch_size) and int(batch_size) == batch_size and batch_size >= 1,
        parameter,
        batch_size,
        "batch size must be an integer ≥ 1",
    )
    if examples is not None:
        require(
            batch_size <= examples,
            parameter,
            batch_size,
            f"batch size must not exceed the number of examples ({examples})",
        )
    return int(batch_size)


def check_sigma(sigma: float, parameter: str = "sigma") -> float:
    """σ ≥ 0."""
    require(_finite(sigma) and sigma >= 0, parameter, sigma, "must be ≥ 0 and finite")
    return sigma


def check_seed(seed: Any, count: int = 1, parameter: str = "seed") -> int:
    """``seed``, ..., ``seed + count − 1`` are unsigned 64-bit integers (the simulator's
    splitmix64 and torch's manual_seed take nothing larger)."""
    require(
        isinstance(seed, int | float) and _finite(seed) and int(seed) == seed,
        parameter,
        seed,
        "need an integer",
    )
    require(
        0 <= int(seed) and int(seed) + count <= 2**64,
        parameter,
        seed,
        f"need 0 ≤ seed{' + settings − 1' if count > 1 else ''} < 2**64",
    )
    return int(seed)


def check_finite(parameter: str, value: float) -> float:
    """``value`` is a finite real number (no NaN, no ±inf)."""
    require(_finite(value), parameter, value, "must be a finite number")
    return float(value)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except (TypeError, ValueError, OverflowError):
        return False
