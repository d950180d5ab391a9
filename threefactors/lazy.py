"""Lazy public names for a package's ``__init__`` (PEP 562 module ``__getattr__``).

A package lists its public names as ``{name: "module.path"}``; a name's module is imported
on first access, so ``import threefactors`` (and ``threefactors --help``) stays fast and
torch loads only when the empirical view is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str], submodules: tuple[str, ...] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps a public name to the
    module defining it; ``submodules`` are public subpackages (``package.name``)."""

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    def __dir__() -> list[str]:
        return sorted([*exports, *submodules])

    return __getattr__, __dir__
