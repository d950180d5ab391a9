"""Every theory result three ways: a sympy expression, LaTeX, and a fast numerical callable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sympy as sp

#: Symbols of the SGD model: learning rate, batch size, noise scale, number of examples.
ETA, BATCH, SIGMA = sp.symbols("eta S sigma", positive=True)
EXAMPLES = sp.Symbol("N", positive=True)
TIME = sp.Symbol("t", nonnegative=True)


@dataclass
class Formula:
    """A derived result: ``expr`` (sympy), :attr:`latex`, and :attr:`callable` — ``expr``
    lambdified over ``symbols`` (numpy; arguments in that order)."""

    expr: Any
    symbols: tuple[sp.Symbol, ...] = field(default_factory=tuple)

    @property
    def latex(self) -> str:
        return sp.latex(self.expr)

    @cached_property
    def callable(self) -> Callable[..., Any]:
        return sp.lambdify(self.symbols, self.expr, modules="numpy", cse=True)

    def __str__(self) -> str:
        return str(self.expr)
