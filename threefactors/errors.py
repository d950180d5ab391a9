"""Input errors that name the parameter and the value at fault.

Every layer (Python API and CLI) raises :class:`InputError` for bad input; the CLI turns it
into one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

#: The longest value an error message prints (a longer one is cut short with "…"; a long
#: text keeps its start and its end, e.g. a path's file name).
VALUE_CHARS = 100
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, VALUE_CHARS, VALUE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def shorten(value: Any) -> str:
    """``repr(value)`` cut to :data:`VALUE_CHARS` characters, without ever building the whole
    text: nested values stop at depth 3 and six items, a huge integer is described by its
    number of digits (an alias-bomb YAML value or a 10**4300 stays a short line)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = math.floor(value.bit_length() * math.log10(2)) + 1
        return f"<{'a negative' if value < 0 else 'an'} integer of about {digits} digits>"
    text = _REPR.repr(value)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


class InputError(ValueError):
    """Bad input: ``parameter`` had ``value``, which is wrong because ``reason``.

    The message prints the value cut short (:func:`shorten`)."""

    def __init__(self, parameter: str, value: Any, reason: str) -> None:
        self.parameter = parameter
        self.value = value
        self.reason = reason
        super().__init__(f"{parameter}={shorten(value)}: {reason}")


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
