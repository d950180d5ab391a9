"""Provenance attached to every result: what produced these numbers, when and where."""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from importlib import metadata
from typing import Any

_PACKAGES = ("threefactors", "numpy", "scipy", "sympy", "numba", "torch")

try:
    #: This package's version (``threefactors.__version__``), kept in the base layer so that
    #: the views can stamp and check it without importing the package's public API.
    VERSION = metadata.version("threefactors")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    VERSION = "0+unknown"


def versions(packages: tuple[str, ...] = _PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape our numbers (absent ones omitted)."""
    out = {"python": sys.version.split()[0]}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def provenance(
    config: dict[str, Any] | None = None, seed: int | None = None, device: str = "cpu"
) -> dict[str, Any]:
    """A JSON-able record of config, seed, versions, device, host and UTC time."""
    return {
        "config": dict(config or {}),
        "seed": seed,
        "versions": versions(),
        "device": device,
        "host": platform.node(),
        "platform": platform.platform(),
        "time_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
