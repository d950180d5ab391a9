"""A loss landscape L(θ), written once as a sympy expression, used by all three views.

``Landscape`` holds the expression in named coordinates (θ = (x, y, ...)) and named
parameters with values. From it the theory derives gradient, Hessian and critical points
symbolically; the simulator compiles the same expression to a Numba kernel, keyed by
:attr:`Landscape.key` (a hash of the expression), so a formula typed once gets every view.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

from threefactors.errors import require
from threefactors.theory.parser import check_name, parse_loss

#: Symbols of the SGD model itself; a loss may not use them as coordinates or parameters.
RESERVED_SYMBOLS = ("eta", "S", "sigma", "N", "t")

#: Names taken as coordinates when none are given: x, y, z, θ/theta, optionally numbered.
COORDINATE_NAME = re.compile(r"(x|y|z|theta|θ)_?\d*")


def _natural_key(name: str) -> tuple[str, int, str]:
    """Order x < y < z and x1 < x2 < x10 (coordinates as a physicist lists them)."""
    match = re.fullmatch(r"([A-Za-z_]+?)(\d*)", name)
    stem, digits = (match.group(1), match.group(2)) if match else (name, "")
    return (stem, int(digits) if digits else -1, name)


def _not_real_double(loss: sp.Expr) -> str | None:
    """Why ``loss`` (parameters substituted) is not a real function in double precision, or
    None: an imaginary unit (sqrt(-1), log(-1), (-8)**(1/3)), a division by zero or an
    infinity, or a number beyond the range of a double (1e308*10, a*a with a = 1e308)."""
    for node in sp.preorder_traversal(loss):
        if node is sp.I or (
            node.is_Pow and node.base.is_Number and node.base < 0 and not node.exp.is_integer
        ):
            return "complex value: the loss must be real"
        if node in (sp.zoo, sp.oo, -sp.oo, sp.nan):
            return "division by zero or an infinite value"
        if node.is_Number and not math.isfinite(float(node)):
            return f"number {sp.N(node, 3)} out of the range of a double"
    return None


# The cached lambdified callables of a Landscape (not picklable; rebuilt on first use).
_NUMERIC_VIEWS = frozenset({"_loss_num", "_grad_num", "_hess_num"})


@dataclass
class Landscape:
    """A loss L(θ) in named coordinates with named parameters.

    Parameters
    ----------
    expr:
        The loss as a sympy expression in ``coords`` and in the parameter symbols.
    coords:
        The coordinates θ = (θ_1, ..., θ_d), in order.
    params:
        Parameter values by name; substituted into :attr:`loss`.
    name:
        A short label for reports.
    box:
        The region of interest, one finite (low, high) per coordinate: where the theory
        searches for critical points (a 1-D polynomial's roots are found exactly on all of
        ℝ, whatever the box), the region it widens until the Gibbs density is negligible
        at its edge before integrating, and where the simulator starts its particles by
        default. ``None`` lets :mod:`threefactors.theory` choose.
    """

    expr: sp.Expr
    coords: tuple[sp.Symbol, ...]
    params: Mapping[str, float] = field(default_factory=dict)
    name: str = ""
    box: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        self.coords = tuple(self.coords)
        self.params = {str(k): float(v) for k, v in dict(self.params).items()}
        require(len(self.coords) >= 1, "coords", self.coords, "need at least one coordinate")
        names = [check_name(c.name, "coords") for c in self.coords]
        require(len(set(names)) == len(names), "coords", names, "repeated coordinate")
        for name in self.params:
            check_name(name, "params")
        free = {s.name for s in self.expr.free_symbols}
        for reserved in RESERVED_SYMBOLS:
            require(
                reserved not in {*names, *self.params, *free},
                "loss",
                str(self.expr),
                f"'{reserved}' is reserved for the SGD model (eta, S, sigma, N, t)",
            )
        unknown = sorted(free - set(names) - set(self.params), key=_natural_key)
        require(
            not unknown,
            "loss",
            str(self.expr),
            f"unknown symbol {', '.join(unknown)}: coordinates are x, y, z (or x1, x2, ...); "
            "give parameters a value (--param NAME=VALUE)",
        )
        if self.box is not None:
            self.box = tuple((float(lo), float(hi)) for lo, hi in self.box)
            require(len(self.box) == self.dim, "box", self.box, f"need {self.dim} intervals")
            require(all(lo < hi for lo, hi in self.box), "box", self.box, "need low < high")
            require(
                all(math.isfinite(hi - lo) for lo, hi in self.box),
                "box",
                self.box,
                "need finite bounds whose difference is a finite double",
            )
        if not self.name:
            self.name = str(self.expr)
        problem = _not_real_double(self.loss)
        given = " with the parameter values" if self.params else ""
        require(problem is None, "loss", str(self.expr), f"{problem}{given}")

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_string(
        cls,
        text: str,
        coords: Sequence[str] | None = None,
        params: Mapping[str, float] | None = None,
        name: str = "",
        box: Sequence[tuple[float, float]] | None = None,
    ) -> Landscape:
        """Build from a typed formula.

        Without ``coords``, the coordinates are the symbols named like coordinates (x, y,
        z, θ/theta, optionally numbered: x1 < x2 < x10), ordered x < y < z; ``coords`` gives
        other names or another order. Any other symbol needs a value in ``params``, else it
        is an error ("unknown symbol").

        >>> Landscape.from_string("(x**2-1)**2 + a*x", params={"a": 0.3}).coords
        (x,)
        """
        expr = parse_loss(text)
        params = dict(params or {})
        free = {s.name: s for s in expr.free_symbols}
        if coords is None:
            names = sorted(
                (n for n in free if n not in params and COORDINATE_NAME.fullmatch(n)),
                key=_natural_key,
            )
        else:
            names = list(coords)
        require(len(names) >= 1, "loss", text, "no coordinate: the loss must depend on θ")
        symbols = tuple(free.get(n, sp.Symbol(n, real=True)) for n in names)
        return cls(expr, symbols, params, name or text, None if box is None else tuple(box))

    def with_params(self, **values: float) -> Landscape:
        """The same landscape with some parameter values changed."""
        missing = sorted(set(values) - set(self.params))
        require(not missing, "params", missing, "not a parameter of this landscape")
        return Landscape(self.expr, self.coords, {**self.params, **values}, self.name, self.box)

    # ----------------------------------------------------------------- symbolic views
    @property
    def dim(self) -> int:
        """d, the number of coordinates."""
        return len(self.coords)

    @property
    def coord_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.coords)

    @cached_property
    def loss(self) -> sp.Expr:
        """L(θ) with the parameter values substituted."""
        subs = {s: self.params[s.name] for s in self.expr.free_symbols if s.name in self.params}
        return self.expr.subs(subs)

    @cached_property
    def gradient(self) -> sp.Matrix:
        """∇L as a d×1 sympy Matrix."""
        return sp.Matrix([sp.diff(self.loss, c) for c in self.coords])

    @cached_property
    def hessian(self) -> sp.Matrix:
        """∇²L as a d×d sympy Matrix."""
        return sp.hessian(self.loss, self.coords)

    @cached_property
    def key(self) -> str:
        """A stable hash of (loss, coordinates): the cache key of compiled kernels."""
        text = sp.srepr(self.loss) + "|" + ",".join(self.coord_names)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def latex(self) -> str:
        """L(θ) in LaTeX."""
        return sp.latex(self.loss)

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the lambdified callables (rebuilt on first use), so a Landscape
        travels to worker processes (sweeps on local processes or Dask) with plain pickle."""
        return {k: v for k, v in self.__dict__.items() if k not in _NUMERIC_VIEWS}

    # ----------------------------------------------------------------- numerical views
    def _lambdify(self, exprs: sp.Expr | sp.Matrix) -> Callable[..., object]:
        return sp.lambdify(self.coords, exprs, modules="numpy", cse=True)

    @cached_property
    def _loss_num(self) -> Callable[..., object]:
        return self._lambdify(self.loss)

    @cached_property
    def _grad_num(self) -> list[Callable[..., object]]:
        return [self._lambdify(g) for g in self.gradient]

    @cached_property
    def _hess_num(self) -> list[list[Callable[..., object]]]:
        d = self.dim
        return [[self._lambdify(self.hessian[i, j]) for j in range(d)] for i in range(d)]

    def _split(self, theta: np.ndarray) -> tuple[list[np.ndarray], tuple[int, ...]]:
        theta = np.asarray(theta, dtype=float)
        require(
            theta.shape[-1:] == (self.dim,),
            "theta",
            theta.shape,
            f"last axis must have length d={self.dim}",
        )
        return [theta[..., i] for i in range(self.dim)], theta.shape[:-1]

    def loss_at(self, theta: np.ndarray) -> np.ndarray:
        """L(θ) for θ of shape (..., d); returns shape (...)."""
        cols, shape = self._split(theta)
        return np.broadcast_to(np.asarray(self._loss_num(*cols), dtype=float), shape).copy()

    def gradient_at(self, theta: np.ndarray) -> np.ndarray:
        """∇L(θ) for θ of shape (..., d); returns shape (..., d)."""
        cols, shape = self._split(theta)
        parts = [np.broadcast_to(np.asarray(f(*cols), dtype=float), shape) for f in self._grad_num]
        return np.stack(parts, axis=-1)

    def hessian_at(self, theta: np.ndarray) -> np.ndarray:
        """∇²L(θ) for θ of shape (..., d); returns shape (..., d, d)."""
        cols, shape = self._split(theta)
        rows = [
            np.stack(
                [np.broadcast_to(np.asarray(f(*cols), dtype=float), shape) for f in row], axis=-1
            )
            for row in self._hess_num
        ]
        return np.stack(rows, axis=-2)
