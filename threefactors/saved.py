"""Saved state is validated, never trusted: the one loader for records, checkpoints, claims.

Everything read back from disk (a grid's run records and checkpoints, ``reproduce``'s claim
files) goes through :func:`load_validated`: the file is read, then checked and turned into
the caller's object by ``parse``, which raises :class:`Invalid` (or any other exception) on
a bad schema, a wrong config hash or a foreign version. A file that fails is moved aside to
``<name>.corrupt-<UTC time>`` with one warning line on stderr, and the caller recomputes:
a bad file is never trusted and never fatal, and the evidence is kept for inspection.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from threefactors.errors import InputError, require

T = TypeVar("T")


class Invalid(ValueError):
    """A saved file that read back but does not hold what it should."""


def open_regular(path: str | os.PathLike[str], parameter: str) -> BinaryIO:
    """``path`` opened for binary reading, if it is a regular file (after symbolic links).

    A FIFO, a device (a link to /dev/zero) or a folder is refused with :class:`InputError`
    naming ``parameter``, without blocking: the file is opened non-blocking and checked with
    ``fstat`` before a byte is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise InputError(parameter, str(path), f"cannot read: {err.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(parameter, str(path), "not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bounded(path: str | os.PathLike[str], limit: int, parameter: str) -> bytes:
    """The bytes of the regular file ``path`` (:func:`open_regular`), refused when it holds
    more than ``limit`` bytes: its size is checked before reading, and no more than that
    size + 1 bytes are read (a file that grew meanwhile is refused)."""
    with open_regular(path, parameter) as handle:
        size = os.fstat(handle.fileno()).st_size
        require(size <= limit, parameter, str(path), f"{size} bytes, over the {limit} allowed")
        data = handle.read(size + 1)  # a file grown meanwhile shows one byte more
    require(len(data) == size, parameter, str(path), "changed while it was read")
    return data


def read_json(path: Path) -> Any:
    """The JSON document in ``path`` (NaN/Infinity are not JSON: refused)."""

    def refuse(token: str) -> None:
        raise Invalid(f"non-JSON number {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def check(condition: bool, reason: str) -> None:
    """Raise :class:`Invalid` with ``reason`` unless ``condition`` holds."""
    if not condition:
        raise Invalid(reason)


def require_fields(data: Any, fields: Iterable[str], what: str) -> dict[str, Any]:
    """``data`` is a JSON object holding every name in ``fields``; returned as is."""
    check(isinstance(data, dict), f"{what} is {type(data).__name__}, not an object")
    missing = [name for name in fields if name not in data]
    check(not missing, f"{what} lacks {', '.join(missing)}")
    return data


def quarantine(path: Path, reason: str) -> Path | None:
    """Move ``path`` aside to ``<path>.corrupt-<UTC time>`` and warn once on stderr.

    Returns the new path (None when another process moved it first).
    """
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return None
    print(
        f"threefactors: warning: {path}: {reason}; moved aside to {aside.name}, recomputing",
        file=sys.stderr,
        flush=True,
    )
    return aside


def load_validated(
    path: str | os.PathLike[str],
    parse: Callable[[Any], T],
    read: Callable[[Path], Any] = read_json,
) -> T | None:
    """``parse(read(path))``; None when the file is missing or failed (then moved aside).

    ``parse`` checks what was read and builds the caller's object; it may return None for
    a valid file that does not apply (e.g. saved with other settings): that file is kept.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return parse(read(path))
    except Exception as err:  # whatever is wrong with the file, it is not trusted
        quarantine(path, f"{type(err).__name__}: {err}".splitlines()[0][:300])
        return None
