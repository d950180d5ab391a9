"""Lazy public names for a package (PEP 562 in spirit: names load on first use).

A package lists its public names as ``_EXPORTS = {name: "module.path"}`` (and public
subpackages as ``_SUBMODULES``) and calls :func:`make_lazy` (``make_lazy(__name__)``). A
name's module is imported on first access, so ``import threefactors`` (and ``threefactors
--help``) stays fast and torch loads only when the empirical view is used.

An exported name always wins over a submodule of the same name: importing the module
``threefactors.simulate.sgd`` makes Python set the package attribute ``sgd`` to that
module, which a plain module ``__getattr__`` would never override; so the package's class
becomes :class:`LazyPackage`, whose attribute lookup consults ``_EXPORTS`` first.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class LazyPackage(ModuleType):
    """A package whose ``_EXPORTS`` names resolve to their module's object on access."""

    def __getattribute__(self, name: str) -> Any:
        exports = ModuleType.__getattribute__(self, "__dict__").get("_EXPORTS", {})
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        return ModuleType.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        if name in self.__dict__.get("_SUBMODULES", ()):
            return importlib.import_module(f"{self.__name__}.{name}")
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        public = [*self.__dict__.get("_EXPORTS", {}), *self.__dict__.get("_SUBMODULES", ())]
        return sorted({*public, *(k for k in self.__dict__ if k.startswith("__"))})


def make_lazy(package: str) -> None:
    """Turn the (already executing) package ``package`` into a :class:`LazyPackage`."""
    sys.modules[package].__class__ = LazyPackage
