"""Typed command-line values, checked where they are parsed.

Each function here is an argparse ``type=``: it turns the text the user typed into a value or
raises :class:`argparse.ArgumentTypeError`, which argparse reports as one line naming the
option as typed (``threefactors train: error: argument --lr: must be a finite number > 0,
got 'inf'``) with exit code 2. Every numeric option is finite and in range before any work
starts; output folders are checked the same way, so a bad ``--out`` costs nothing.
Only the standard library is imported: ``threefactors --help`` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
from collections.abc import Callable
from pathlib import Path

from threefactors.errors import shorten

#: Seeds are unsigned 64-bit integers (the simulator's splitmix64 and torch's manual_seed).
SEED_LIMIT = 2**64


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {shorten(text)}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {shorten(text)}")
    return value


def real(
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> Callable[[str], float]:
    """A finite float in [low, high] (``open_low``/``open_high``: the bound is excluded)."""
    if high is None:
        span = "a finite number" + ("" if low is None else f" {'>' if open_low else '≥'} {low:g}")
    else:
        lo = "(-inf" if low is None else ("(" if open_low else "[") + f"{low:g}"
        span = f"in {lo}, {high:g}" + (")" if open_high else "]")

    def parse(text: str) -> float:
        value = _number(text)
        below = low is not None and (value < low or (open_low and value == low))
        above = high is not None and (value > high or (open_high and value == high))
        if below or above:
            raise argparse.ArgumentTypeError(f"must be {span}, got {shorten(text)}")
        return value

    parse.__name__ = "number"  # argparse's fallback message says "invalid number value"
    return parse


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An integer in [low, high]; ``1e6`` is accepted as 1000000 (an exact integer)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not number.is_integer():
                raise argparse.ArgumentTypeError(
                    f"expected an integer, got {shorten(text)}"
                ) from None
            value = int(number)
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"≥ {low}" if high is None else f"in {low}..{high}"
            raise argparse.ArgumentTypeError(f"must be an integer {bounds}, got {shorten(text)}")
        return value

    parse.__name__ = "integer"
    return parse


positive = real(0.0, open_low=True)
"""A finite float > 0 (learning rate, time, time step, σ of a temperature)."""
nonnegative = real(0.0)
"""A finite float ≥ 0 (σ, a momentum, a checkpoint interval)."""
fraction = real(0.0, 1.0)
"""A finite float in [0, 1]."""
count = integer(1)
"""An integer ≥ 1 (particles, steps, batch size, epochs)."""
seed = integer(0, SEED_LIMIT - 1)
"""An unsigned 64-bit seed."""


def memory(text: str) -> int:
    """A memory size in bytes: ``2G``, ``512M``, ``64k`` or a plain number of bytes, > 0."""
    units = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    body = text.strip().lower().removesuffix("ib").removesuffix("b")
    scale = units.get(body[-1:], 1)
    try:
        value = _number(body[:-1] if scale > 1 else body) * scale
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 2G, got {shorten(text)}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be > 0 bytes, got {shorten(text)}")
    return int(value)


def add_memory_budget(parser: argparse.ArgumentParser) -> None:
    """``--memory-budget BYTES`` (see :mod:`threefactors.resources`)."""
    parser.add_argument(
        "--memory-budget",
        type=memory,
        default=None,
        metavar="BYTES",
        help="most memory a run may allocate, e.g. 2G (default: half the memory now available)",
    )


def _check_links(text: str, path: Path) -> None:
    """Refuse a path through a symbolic link that leads nowhere (dangling, or a loop)."""
    for part in (path, *path.parents):
        if os.path.lexists(part) and not os.path.exists(part):
            try:
                os.stat(part)
            except OSError as err:
                what = (
                    "a symbolic link loop"
                    if err.errno == errno.ELOOP
                    else "a symbolic link to nothing (its target does not exist)"
                )
                where = repr(text) if part == path else f"{text!r}: {str(part)!r}"
                raise argparse.ArgumentTypeError(f"{where} is {what}") from None


def output_dir(text: str) -> Path:
    """A folder to write into: not empty text, not a file, not under a file, and creatable.

    Checked when the command line is parsed, so a bad ``--out`` is refused before any work.
    Nothing is created here.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path: name an output folder")
    path = Path(text).expanduser()
    _check_links(text, path)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{shorten(text)} is a file, not a folder")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{shorten(text)} lies under the file {str(parent)!r}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{shorten(text)}: cannot write in {str(parent)!r}")
    return path
