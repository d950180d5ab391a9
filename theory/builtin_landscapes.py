"""Built-in landscapes whose answers the theory knows, each a :class:`Landscape` with a box.

- :func:`quadratic` — L = ½ Σ h_i θ_i² (the basin every local theory linearises to);
- :func:`double_well` — 1-D, depth and width of each minimum set independently;
- :func:`symmetric_double_well` — the quartic D((x/m)⁴ − 2(x/m)²);
- :func:`tilted_multiwell` — 1-D, n ≥ 3 minima with a linear tilt;
- :func:`two_minima_2d` — two minima joined through one index-1 saddle.

Width convention: a minimum of width w has curvature h = L'' = 1/w², so that at temperature
T its Laplace Gaussian has standard deviation w·sqrt(T).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp
from numpy.polynomial import polynomial as npoly
from scipy.integrate import quad
from scipy.optimize import linprog

from threefactors.errors import InputError, check_positive, require
from threefactors.theory.landscape import Landscape

X, Y = sp.symbols("x y", real=True)


def coordinate_symbols(dim: int) -> tuple[sp.Symbol, ...]:
    """x for d = 1; x, y for d = 2; x1 … xd otherwise."""
    if dim == 1:
        return (X,)
    if dim == 2:
        return (X, Y)
    return tuple(sp.Symbol(f"x{i + 1}", real=True) for i in range(dim))


def quadratic(eigenvalues: Sequence[float]) -> Landscape:
    """Anisotropic quadratic basin L = ½ Σ_i h_i θ_i², Hessian diag(h_1 … h_d).

    The eigenvalues are parameters (``h`` for d = 1, ``h1`` … ``hd`` otherwise), so
    :meth:`Landscape.with_params` changes them. The box is ±3/sqrt(h_i) per axis.
    """
    h = [float(v) for v in eigenvalues]
    require(len(h) >= 1, "hessian", eigenvalues, "need at least one eigenvalue")
    require(
        all(v > 0 and np.isfinite(v) for v in h), "hessian", eigenvalues, "eigenvalues must be > 0"
    )
    coords = coordinate_symbols(len(h))
    names = ["h"] if len(h) == 1 else [f"h{i + 1}" for i in range(len(h))]
    hs = [sp.Symbol(n, positive=True) for n in names]
    expr = sum(hi * c**2 for hi, c in zip(hs, coords, strict=True)) / 2
    box = tuple((-3 / np.sqrt(v), 3 / np.sqrt(v)) for v in h)
    return Landscape(expr, coords, dict(zip(names, h, strict=True)), f"quadratic{tuple(h)}", box)


def symmetric_double_well(depth: float = 1.0, width: float = 0.5) -> Landscape:
    """Symmetric quartic L = D((x/m)⁴ − 2(x/m)²) + D with m = sqrt(8 D) w.

    Minima at x = ±m with L = 0, barrier D at x = 0, curvature L''(±m) = 8D/m² = 1/w².
    ``depth`` and ``width`` are the landscape's parameters.
    """
    check_positive("depth", depth)
    check_positive("width", width)
    d, w = sp.symbols("depth width", positive=True)
    m = sp.sqrt(8 * d) * w
    expr = d * ((X / m) ** 4 - 2 * (X / m) ** 2) + d
    reach = 2.0 * np.sqrt(8 * depth) * width
    return Landscape(
        expr,
        (X,),
        {"depth": depth, "width": width},
        f"symmetric_double_well(depth={depth}, width={width})",
        ((-reach, reach),),
    )


def _is_positive(q: np.ndarray) -> bool:
    """q(x) > 0 on all of ℝ: positive leading coefficient and no real root."""
    roots = npoly.polyroots(q) if q.size > 1 else np.array([])
    return bool(q[-1] > 0 and not np.any(np.abs(roots.imag) < 1e-9))


def _factor_candidates(targets: np.ndarray, degree: int, barrier: bool) -> list[np.ndarray]:
    """Coefficients (low → high) of polynomials q > 0 with L' = x(x²−1) q meeting the targets.

    ``targets`` = (D_L, D_R, h_L, h_R). Linear constraints: ∫_{−1}^0 L' = D_L,
    −∫_0^1 L' = D_R, L''(∓1) = 2 q(∓1) = h_L, h_R and, if ``barrier``, the barrier curvature
    L''(0) = −q(0) = −(h_L + h_R)/4 (a quartic's when h_L = h_R). Two ways to spend the
    remaining freedom: the minimum-norm solution (q constant, a quartic L, whenever the
    targets allow it), and a linear programme maximising s with q(x) ≥ s (1 + x^degree) on
    a grid over [−3, 3]. Only q > 0 on all of ℝ (:func:`_is_positive`) are returned.
    """
    n = degree + 1
    rows = 5 if barrier else 4
    a_eq = np.zeros((rows, n))
    base = npoly.polyfromroots([0.0, -1.0, 1.0])
    for k in range(n):
        slope = npoly.polymul(base, np.eye(n)[k])
        prim, curv = npoly.polyint(slope), npoly.polyder(slope)
        a_eq[:4, k] = (
            npoly.polyval(0.0, prim) - npoly.polyval(-1.0, prim),
            npoly.polyval(0.0, prim) - npoly.polyval(1.0, prim),
            npoly.polyval(-1.0, curv),
            npoly.polyval(1.0, curv),
        )
    b_eq = np.append(targets, (targets[2] + targets[3]) / 4)[:rows]
    if barrier:
        a_eq[4, 0] = 1.0
    found = [np.linalg.lstsq(a_eq, b_eq, rcond=None)[0]]
    grid = np.linspace(-3.0, 3.0, 601)
    solution = linprog(
        np.eye(n + 1)[-1] * -1.0,
        A_ub=np.hstack([-np.vander(grid, n, increasing=True), (1.0 + grid**degree)[:, None]]),
        b_ub=np.zeros(grid.size),
        A_eq=np.hstack([a_eq, np.zeros((rows, 1))]),
        b_eq=b_eq,
        bounds=[(None, None)] * n + [(None, max(targets[2:]))],
        method="highs",
    )
    if solution.status == 0 and solution.x[-1] > 0:
        found.append(solution.x[:-1])
    trimmed = [npoly.polytrim(q, 1e-12 * float(np.abs(q).max())) for q in found]
    return [q for q in trimmed if _is_positive(q)]


def _laplace_misfit(prim: np.ndarray, targets: np.ndarray) -> float:
    """Worst relative error of the Laplace mass sqrt(2πT/h) of either well at T = min(D)/40:
    how well 'width' describes the well (0 for a harmonic well)."""
    temperature = float(min(targets[:2])) / 40
    worst = 0.0
    for centre, curv, span in ((-1.0, targets[2], (-3.0, 0.0)), (1.0, targets[3], (0.0, 3.0))):
        floor = npoly.polyval(centre, prim)
        mass = quad(
            lambda x, floor=floor: np.exp(-(npoly.polyval(x, prim) - floor) / temperature),
            *span,
            points=[centre],
            epsrel=1e-10,
            limit=400,
        )[0]
        worst = max(worst, abs(mass / np.sqrt(2 * np.pi * temperature / curv) - 1))
    return worst


def double_well(
    depth_left: float = 1.0,
    depth_right: float = 0.5,
    width_left: float = 0.25,
    width_right: float = 0.5,
) -> Landscape:
    """1-D double well, minima at x = −1 and x = +1, barrier at x = 0, four knobs.

    depth = barrier height above each minimum (D_L, D_R); width w sets the curvature at the
    minimum, L''(∓1) = 1/w². A quartic cannot set the four independently (its depth ratio
    is tied to its curvature ratio), nor can a sextic L' = x(x²−1)q with quadratic q
    (h_R − h_L = 15(D_R − D_L)). Construction: L' = x(x²−1) q(x) with q a polynomial of
    degree 6 (degree 8 if needed) that is positive on all of ℝ, so the only critical points
    are x = −1, 0, +1. The four targets are linear in q's coefficients:
    2q(−1) = 1/w_L², 2q(1) = 1/w_R², ∫_{−1}^0 L' = D_L, −∫_0^1 L' = D_R; where possible
    the barrier curvature is pinned too, L''(0) = −(h_L + h_R)/4, and the remaining freedom
    is spent on the smallest q (minimum norm: a plain quartic when the targets are a
    quartic's) or, if that q is not positive, on q's margin of positivity (a linear
    programme); see :func:`_positive_factor`. L is shifted so the lower minimum has L = 0.
    Raises InputError when no positive q of degree ≤ 8 exists (extreme ratios).
    """
    for name, value in (
        ("depth_left", depth_left),
        ("depth_right", depth_right),
        ("width_left", width_left),
        ("width_right", width_right),
    ):
        check_positive(name, value)
    targets = np.array([depth_left, depth_right, 1 / width_left**2, 1 / width_right**2])
    base = npoly.polyfromroots([0.0, -1.0, 1.0])
    shapes = [
        npoly.polyint(npoly.polymul(base, q))
        for barrier in (True, False)
        for degree in (4, 6, 8)
        for q in _factor_candidates(targets, degree, barrier)
    ]
    if not shapes:
        raise InputError(
            "width_left",
            width_left,
            f"no smooth polynomial double well with depths ({depth_left}, {depth_right}) "
            f"and widths ({width_left}, {width_right}): the ratios are too extreme",
        )
    misfit = [_laplace_misfit(shape, targets) for shape in shapes]
    prim = next(
        sh for sh, m in zip(shapes, misfit, strict=True) if m <= max(1.25 * min(misfit), 0.01)
    )
    prim[0] = max(depth_left, depth_right)  # L(0) = barrier, lower minimum at 0
    expr = sum(sp.Float(c, 17) * X**k for k, c in enumerate(prim) if c != 0.0)
    return Landscape(
        expr,
        (X,),
        {},
        f"double_well(depth=({depth_left}, {depth_right}), width=({width_left}, {width_right}))",
        ((-2.0, 2.0),),
    )


def tilted_multiwell(n_minima: int = 3, barrier: float = 1.0, tilt: float = 0.1) -> Landscape:
    """1-D multi-well L = B Π_k (x − k)² / P* + a x, minima near x = 0, 1, …, n−1.

    P* is the maximum of Π_k (x − k)² between x = 0 and x = 1, so the untilted barrier
    between the first two minima is B (inner barriers of larger n are lower, outer higher).
    The tilt a lowers the minima on the left; keep |a| below the barrier slope ~ B.
    ``barrier`` and ``tilt`` are parameters.
    """
    require(int(n_minima) == n_minima and n_minima >= 3, "n_minima", n_minima, "need ≥ 3")
    check_positive("barrier", barrier)
    product = sp.prod([(X - k) ** 2 for k in range(int(n_minima))])
    slope_roots = sp.Poly(sp.diff(product, X), X).nroots()
    peak = max(float(product.subs(X, r)) for r in slope_roots if 0 < sp.re(r) < 1)
    b, a = sp.symbols("barrier tilt", real=True)
    expr = b * sp.expand(product) / sp.Float(peak, 17) + a * X
    return Landscape(
        expr,
        (X,),
        {"barrier": barrier, "tilt": tilt},
        f"tilted_multiwell(n_minima={n_minima}, barrier={barrier}, tilt={tilt})",
        ((-0.75, n_minima - 0.25),),
    )


def two_minima_2d(
    tilt: float = -0.2, stiffness: float = 2.0, skew: float = 1.0, coupling: float = 0.0
) -> Landscape:
    """L = (x² − 1)² + a x + ½ (k + s (x + 1)²) y² + c x y: two minima, one index-1 saddle.

    Minima near (∓1, 0), saddle near (0, 0). The y-curvature is k at the left minimum and
    k + 4s at the right one, so with s > 0 and a < 0 the right minimum is deeper and
    sharper, the left one higher and wider (the width/depth trade-off in 2-D).
    Parameters: ``tilt`` (a), ``stiffness`` (k > 0), ``skew`` (s ≥ 0), ``coupling`` (c).
    """
    check_positive("stiffness", stiffness)
    require(skew >= 0, "skew", skew, "must be ≥ 0 (keeps L bounded below)")
    a, k, s, c = sp.symbols("tilt stiffness skew coupling", real=True)
    expr = (X**2 - 1) ** 2 + a * X + (k + s * (X + 1) ** 2) * Y**2 / 2 + c * X * Y
    return Landscape(
        expr,
        (X, Y),
        {"tilt": tilt, "stiffness": stiffness, "skew": skew, "coupling": coupling},
        f"two_minima_2d(tilt={tilt}, stiffness={stiffness}, skew={skew}, coupling={coupling})",
        ((-2.0, 2.0), (-2.0, 2.0)),
    )
