"""Critical points of a landscape: minima and index-1 saddles, with Hessian eigenvalues.

Three routes:
- quadratic loss L = ½θᵀHθ + cᵀθ + L₀ (∇L linear): the one solution of Hθ = −c, exact, any d
  (read off the polynomial's coefficients; no multi-start);
- 1-D polynomial loss: every real root of the polynomial L'(x) (companion-matrix
  eigenvalues, then Newton-polished to machine precision) — complete, no box needed;
- otherwise: multi-start Newton on ∇L(θ) = 0 with the Hessian as Jacobian, started from a
  grid (d ≤ 2) or a scrambled Sobol set (d ≥ 3, 2^min(6+d, 11) points) over the box,
  deduplicated.
Each point is classified by the eigenvalues of ∇²L: index = number of negative eigenvalues
(0: minimum, 1: index-1 saddle; in 1-D a maximum). Points with an eigenvalue within
1e-9·max|eigenvalue| of zero are degenerate: one with no negative eigenvalue whose loss rises
along every zero-curvature direction (probed at ±10⁻³ and ±10⁻² of the box) is a degenerate
minimum (``x**4``: ``degenerate=True``, a zero eigenvalue; Laplace's approximation does not
apply to it), every other degenerate point is kept apart in ``others``.

Saddle → minima connections (which minima a saddle's unstable manifold flows into): in 1-D
exactly the neighbouring minima in order; in d ≥ 2 adaptive (RK45, scipy ``solve_ivp``)
integration of dθ/dt = −∇L from z ± δv until the path enters a minimum's capture ball,
accepted only if the loss has dropped below the saddle's on the way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.stats import qmc

from threefactors.errors import InputError
from threefactors.theory.landscape import Landscape

_DEGENERATE = 1e-9


@dataclass(frozen=True)
class CriticalPoint:
    """A point with ∇L = 0: position x (shape (d,)), L(x), eigenvalues of ∇²L(x), index.

    ``degenerate``: a minimum with a zero Hessian eigenvalue (e.g. ``x**4`` at 0): its
    log-determinant is −∞ and Laplace/Eyring–Kramers do not apply.
    """

    x: np.ndarray
    loss: float
    hessian_eigenvalues: np.ndarray
    index: int
    degenerate: bool = False

    @property
    def log_det_hessian(self) -> float:
        """log |det ∇²L(x)|."""
        return float(np.sum(np.log(np.abs(self.hessian_eigenvalues))))


@dataclass(frozen=True)
class CriticalPoints:
    """Minima and index-1 saddles, each sorted by first coordinate, then second, …

    ``others`` holds higher-index and degenerate points; ``method`` says which route found
    them ("polynomial roots" or "multi-start Newton"); ``box`` the region searched.
    ``complete`` is False when the multi-start search probably missed points: a minimum or
    saddle was reached from a single start (Good–Turing: the chance that the next start finds a
    new point is about the fraction of starts whose point was seen once), ``starts`` the
    number of Newton starts (0 for the exact routes).
    """

    minima: list[CriticalPoint]
    saddles: list[CriticalPoint]
    others: list[CriticalPoint] = field(default_factory=list)
    method: str = ""
    box: tuple[tuple[float, float], ...] = ()
    complete: bool = True
    starts: int = 0


#: Above this degree a polynomial loss is handled numerically (multi-start Newton), not by
#: expanding it: a product of forty (x + i)**64 factors (degree 2560) took minutes to expand.
MAX_POLYNOMIAL_DEGREE = 200


def _degree_bound(expr: sp.Expr, coords: tuple[sp.Symbol, ...]) -> float:
    """An upper bound on the total degree of the polynomial ``expr`` in ``coords``, read off
    the tree without expanding (sum → max, product → sum, power → times the exponent)."""
    degrees: dict[sp.Basic, float] = {}
    for node in sp.postorder_traversal(expr):
        if node in degrees:
            continue
        if node in coords:
            degrees[node] = 1.0
        elif node.is_Add:
            degrees[node] = max(degrees[a] for a in node.args)
        elif node.is_Mul:
            degrees[node] = sum(degrees[a] for a in node.args)
        elif node.is_Pow and node.exp.is_Integer:
            degrees[node] = degrees[node.base] * abs(int(node.exp))
        else:
            degrees[node] = 0.0 if not node.has(*coords) else math.inf
    return degrees[expr]


def _is_small_polynomial(landscape: Landscape) -> bool:
    """L is a polynomial in θ of degree ≤ MAX_POLYNOMIAL_DEGREE (tree tests only: nothing is
    expanded; a deep tanh nest's gradient, a product of 28 factors, took minutes)."""
    return bool(
        landscape.loss.is_polynomial(*landscape.coords)
        and _degree_bound(landscape.loss, landscape.coords) <= MAX_POLYNOMIAL_DEGREE
    )


def quadratic_form(landscape: Landscape) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(H, c, L₀) with L(θ) = ½θᵀHθ + cᵀθ + L₀ when L is a polynomial of degree ≤ 2 in θ
    (then ∇L = Hθ + c and ∇²L = H everywhere), else None. Read off the coefficients of
    ``sympy.Poly``: θ_iθ_j (i ≠ j) with coefficient a gives H_ij = H_ji = a, θ_i² gives
    H_ii = 2a."""
    if not _is_small_polynomial(landscape):
        return None
    try:
        poly = sp.Poly(landscape.loss, *landscape.coords)
    except (sp.PolynomialError, sp.GeneratorsNeeded):
        return None
    if poly.total_degree() > 2:
        return None
    d = landscape.dim
    hessian, slope, offset = np.zeros((d, d)), np.zeros(d), 0.0
    try:
        for powers, coeff in poly.terms():
            value = float(coeff)
            where = [i for i, k in enumerate(powers) for _ in range(k)]
            if len(where) == 2:
                i, j = where
                hessian[i, j] += value if i != j else 2 * value
                hessian[j, i] = hessian[i, j]
            elif len(where) == 1:
                slope[where[0]] = value
            else:
                offset = value
    except TypeError:  # a coefficient that is not a number
        return None
    return hessian, slope, offset


def _polynomial_slope(landscape: Landscape) -> np.ndarray | None:
    """Coefficients (high → low) of L'(x) when d = 1 and L is a polynomial, else None."""
    if landscape.dim != 1 or not _is_small_polynomial(landscape):
        return None
    try:
        poly = sp.Poly(landscape.loss, landscape.coords[0]).diff(landscape.coords[0])
        coeffs = np.array([float(c) for c in poly.all_coeffs()])
    except (sp.PolynomialError, TypeError, ValueError):
        return None
    return coeffs if np.all(np.isfinite(coeffs)) else None


def default_box(landscape: Landscape) -> tuple[tuple[float, float], ...]:
    """The landscape's own box, else one around the real roots of L' (1-D polynomial), else
    [−3, 3] per coordinate."""
    if landscape.box is not None:
        return landscape.box
    slope = _polynomial_slope(landscape)
    if slope is not None and slope.size > 1:
        roots = np.roots(np.trim_zeros(slope, "f"))
        real = roots.real[np.abs(roots.imag) <= 1e-7 * (1 + np.abs(roots))]
        if real.size:
            lo, hi = float(real.min()), float(real.max())
            pad = max(1.0, 0.5 * (hi - lo))
            return ((lo - pad, hi + pad),)
    return tuple((-3.0, 3.0) for _ in range(landscape.dim))


def _starts(box: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Starting points: 400 (d = 1) or 30×30 (d = 2) grid points, else 2^min(6+d, 11) Sobol
    points (at most 2048: the cost of Newton grows like starts × d³)."""
    d = len(box)
    lo = np.array([b[0] for b in box])
    hi = np.array([b[1] for b in box])
    if d <= 2:
        axes = [np.linspace(a, b, 400 if d == 1 else 30) for a, b in box]
        return np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=-1)
    unit = qmc.Sobol(d, scramble=True, seed=0).random_base2(min(6 + d, 11))
    return lo + unit * (hi - lo)


def _newton(landscape: Landscape, theta: np.ndarray, box_size: np.ndarray) -> np.ndarray:
    """Damped Newton on ∇L = 0 for all rows at once (steps clipped to ¼ of the box)."""
    for _ in range(80):
        grad = landscape.gradient_at(theta)
        step = np.einsum("nij,nj->ni", np.linalg.pinv(landscape.hessian_at(theta)), grad)
        step = np.clip(np.nan_to_num(step, nan=0.0, posinf=0.0, neginf=0.0), -box_size, box_size)
        theta = theta - step
        if np.all(np.abs(step) <= 1e-13 * (1 + np.abs(theta))):
            break
    return theta


def _rises_along(landscape: Landscape, x: np.ndarray, directions: np.ndarray, span: float) -> bool:
    """True when L(x ± εv) > L(x) for every column v of ``directions``, ε = 10⁻³, 10⁻² span."""
    steps = np.array([1e-3, 1e-2, -1e-3, -1e-2]) * span
    probes = x + (steps[:, None, None] * directions.T[None, :, :]).reshape(-1, x.size)
    return bool(np.all(landscape.loss_at(probes) > float(landscape.loss_at(x))))


def _classify(
    landscape: Landscape, points: np.ndarray, box: tuple[tuple[float, float], ...]
) -> list[CriticalPoint]:
    span = float(max(hi - lo for lo, hi in box))
    out = []
    for x in points:
        x = np.where(np.abs(x) < 1e-14, 0.0, x)  # round-off around an exact zero
        eig, vec = np.linalg.eigh(landscape.hessian_at(x))
        scale = max(float(np.max(np.abs(eig))), 1e-300)
        flat = np.abs(eig) <= _DEGENERATE * scale
        index = int(np.sum(eig < 0)) if not np.any(flat) else -1
        degenerate = (
            index == -1
            and not np.any(eig[~flat] < 0)
            and _rises_along(landscape, x, vec[:, flat], span)
        )
        loss = float(landscape.loss_at(x))
        out.append(CriticalPoint(x.copy(), loss, eig, 0 if degenerate else index, degenerate))
    return out


def _dedupe(points: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Distinct points (first of each cluster within ``tol``) and how many rows each had."""
    kept: list[np.ndarray] = []
    hits: list[int] = []
    for p in points:
        near = [k for k, q in enumerate(kept) if np.max(np.abs(p - q)) <= tol]
        if near:
            hits[near[0]] += 1
        else:
            kept.append(p)
            hits.append(1)
    return np.array(kept).reshape(-1, points.shape[-1]), np.array(hits, dtype=int)


def require_smooth(landscape: Landscape) -> None:
    """InputError unless ∇²L is an ordinary function: a kink (``Abs``, ``Max``, ``sign``)
    puts DiracDelta/Heaviside into the Hessian, where curvature, Laplace masses and
    Kramers rates mean nothing."""
    if landscape.hessian.has(sp.DiracDelta, sp.Heaviside):
        raise InputError(
            "loss",
            str(landscape.loss),
            "not twice differentiable (a kink, e.g. Abs: the Hessian holds DiracDelta); "
            "use a smooth form such as sqrt(x**2 + 1e-6)",
        )


def _require_defined(landscape: Landscape, points: np.ndarray, box: tuple) -> None:
    """InputError unless L is real and finite at every start point of the search: a loss
    such as sqrt(x + 1) or x**0.5 is not defined on all of the box."""
    with np.errstate(all="ignore"):
        values = landscape.loss_at(points)
    bad = ~np.isfinite(values)
    if bad.any():
        where = ", ".join(f"{v:.4g}" for v in points[np.argmax(bad)])
        raise InputError(
            "loss",
            str(landscape.loss),
            f"not a finite real double at θ = ({where}) in the box {box}: the loss must be "
            "defined, real and within a double's range on the whole box",
        )


def require_confining(landscape: Landscape, critical: CriticalPoints) -> None:
    """InputError unless L grows away from its critical points, as the stationary law
    p ∝ exp(−L/T) and a simulation that stays put both need.

    1-D polynomial: even degree, positive leading coefficient (exact). Otherwise L on the
    rim of the search box enlarged 3× about its centre must lie above every critical value.
    """
    slope = _polynomial_slope(landscape)
    if slope is not None and np.trim_zeros(slope, "f").size > 1:
        lead = np.trim_zeros(slope, "f")
        grows = lead.size % 2 == 0 and lead[0] > 0  # L' of odd degree, rising
        detail = "L → −∞ or stays bounded as |x| → ∞"
    else:
        box = np.array(critical.box, dtype=float)
        centre, half = box.mean(axis=1), 1.5 * (box[:, 1] - box[:, 0])
        rim = _rim(len(box))
        rim_loss = landscape.loss_at(centre + (2 * rim - 1) * half)
        highest = max(p.loss for p in (*critical.minima, *critical.saddles, *critical.others))
        lowest = float(np.nanmin(rim_loss)) if np.isfinite(rim_loss).any() else -np.inf
        grows = bool(np.all(np.isfinite(rim_loss))) and lowest > highest
        detail = f"on the box enlarged 3×, L falls to {lowest:.4g} ≤ critical value {highest:.4g}"
    if not grows:
        raise InputError(
            "loss",
            str(landscape.loss),
            f"not confining ({detail}): exp(-L/T) is not normalisable and particles run off",
        )


def _rim(d: int) -> np.ndarray:
    """Points on the surface of the unit cube: 200 per edge (d ≤ 2), else 256 Sobol points
    with one coordinate (cycling) pushed to 0 or 1."""
    if d == 1:
        return np.array([[0.0], [1.0]])
    if d == 2:
        t = np.linspace(0, 1, 200)
        zero, one = np.zeros_like(t), np.ones_like(t)
        return np.concatenate(
            [np.stack(pair, -1) for pair in ((t, zero), (t, one), (zero, t), (one, t))]
        )
    unit = qmc.Sobol(d, scramble=True, seed=1).random_base2(8)
    k = np.arange(len(unit))
    unit[k, k % d] = (k // d) % 2
    return unit


def critical_points(landscape: Landscape) -> CriticalPoints:
    """All minima and index-1 saddles of L (1-D polynomial: all of ℝ; else: inside the box).

    Raises InputError("loss", ..., "no minimum") when L has no minimum there.
    """
    box = default_box(landscape)
    form = quadratic_form(landscape)
    if form is not None:
        return _quadratic_critical(landscape, *form, box)
    require_smooth(landscape)
    slope = _polynomial_slope(landscape)
    lo = np.array([b[0] for b in box])
    hi = np.array([b[1] for b in box])
    if slope is not None and np.trim_zeros(slope, "f").size > 1:
        roots = np.roots(np.trim_zeros(slope, "f"))
        tol = 1e-6 * (1 + np.abs(roots))
        candidates = roots.real[np.abs(roots.imag) <= tol][:, None]
        points = _newton(landscape, candidates, np.full(1, np.inf))
        method, starts = "polynomial roots", 0
    else:
        starts = len(initial := _starts(box))
        _require_defined(landscape, initial, box)
        points = _newton(landscape, initial, (hi - lo) / 4)
        margin = 1e-6 * (hi - lo)
        inside = np.all((points >= lo - margin) & (points <= hi + margin), axis=1)
        points = points[inside & np.all(np.isfinite(points), axis=1)]
        method = "multi-start Newton"
    if points.size:
        grad = np.abs(landscape.gradient_at(points)).max(axis=1)
        hess = np.abs(landscape.hessian_at(points)).max(axis=(1, 2))
        points = points[grad <= 1e-8 * (1 + hess * (1 + np.abs(points).max(axis=1)))]
    points, hits = _dedupe(points, 1e-7 * float(np.max(hi - lo)))
    order = np.lexsort(points.T[::-1]) if points.size else np.array([], dtype=int)
    found = _classify(landscape, points[order], box)
    minima = [p for p in found if p.index == 0]
    if not minima:
        raise InputError("loss", str(landscape.loss), f"no minimum (searched {method} in {box})")
    critical = CriticalPoints(
        minima=minima,
        saddles=[p for p in found if p.index == 1],
        others=[p for p in found if p.index not in (0, 1)],
        method=method,
        box=box,
        complete=starts == 0
        or not any(n == 1 for n, p in zip(hits[order], found, strict=True) if p.index in (0, 1)),
        starts=starts,
    )
    require_confining(landscape, critical)
    return critical


def _quadratic_critical(
    landscape: Landscape,
    hessian: np.ndarray,
    slope: np.ndarray,
    offset: float,
    box: tuple[tuple[float, float], ...],
) -> CriticalPoints:
    """The minimum θ* = −H⁻¹c of a quadratic with H positive definite, L(θ*) = L₀ + ½cᵀθ*;
    otherwise there is no (isolated) minimum."""
    eig = np.linalg.eigvalsh(hessian)
    scale = max(float(np.max(np.abs(eig))), 1e-300)
    if np.any(eig <= _DEGENERATE * scale):  # a saddle, a maximum, a valley: no minimum
        raise InputError("loss", str(landscape.loss), f"no minimum (quadratic form, box {box})")
    x = np.linalg.solve(hessian, -slope)
    x = np.where(np.abs(x) < 1e-14, 0.0, x)
    bottom = CriticalPoint(x, offset + 0.5 * float(slope @ x), eig, 0)
    return CriticalPoints(minima=[bottom], saddles=[], others=[], method="quadratic", box=box)


def capture_radii(critical: CriticalPoints) -> np.ndarray:
    """Per minimum, a quarter of the distance to the nearest other critical point (∞ if none)."""
    every = np.array([p.x for p in (*critical.minima, *critical.saddles, *critical.others)])
    radius = np.empty(len(critical.minima))
    for k, m in enumerate(critical.minima):
        dist = np.linalg.norm(every - m.x, axis=1)
        dist = dist[dist > 0]
        radius[k] = 0.25 * (dist.min() if dist.size else np.inf)
    return radius


def flow_to_minima(
    landscape: Landscape,
    points: np.ndarray,
    critical: CriticalPoints,
    max_steps: int = 5000,
) -> np.ndarray:
    """Which minimum gradient flow dθ/dt = −∇L carries each point to (its basin).

    Returns, per row of ``points`` (shape (n, d)), the index into ``critical.minima``.
    Explicit steps dt = 0.9/‖∇²L(θ)‖_F (stable since ‖·‖_F ≥ λ_max), each move at most half
    the smallest capture radius (no overshoot where the curvature vanishes); a point is
    assigned once it lies within its capture radius (:func:`capture_radii`) of a minimum.
    Points that leave the box far behind get −1; points stalled on a basin boundary (∇L ≈ 0
    away from every minimum, or still moving after ``max_steps``) go to the nearest
    minimum: a set of measure zero, or of O(step) width along the boundary.
    """
    minima = np.array([m.x for m in critical.minima])
    radius = capture_radii(critical)
    box = np.array(critical.box)
    span = box[:, 1] - box[:, 0]
    finite = radius[np.isfinite(radius)]
    max_move = 0.5 * float(finite.min()) if finite.size else float(span.max())
    far_lo, far_hi = box[:, 0] - 10 * span, box[:, 1] + 10 * span
    theta = np.array(points, dtype=float).reshape(-1, landscape.dim)
    label = np.full(len(theta), -2)
    active = np.arange(len(theta))
    for _ in range(max_steps):
        if active.size == 0:
            break
        x = theta[active]
        dist = np.linalg.norm(x[:, None, :] - minima[None, :, :], axis=-1)
        nearest = dist.argmin(axis=1)
        arrived = dist[np.arange(len(x)), nearest] <= radius[nearest]
        gone = np.any((x < far_lo) | (x > far_hi) | ~np.isfinite(x), axis=1)
        label[active[arrived]] = nearest[arrived]
        label[active[gone & ~arrived]] = -1
        keep = ~(arrived | gone)
        active, x = active[keep], x[keep]
        norm = np.linalg.norm(landscape.hessian_at(x), axis=(1, 2))
        step = (0.9 / np.maximum(norm, 1e-300))[:, None] * landscape.gradient_at(x)
        length = np.linalg.norm(step, axis=1)
        step *= (max_move / np.maximum(length, max_move))[:, None]
        stalled = length <= 1e-10 * float(span.max())
        label[active[stalled]] = nearest[keep][stalled]
        theta[active] = x - step
        active = active[~stalled]
    if active.size:
        dist = np.linalg.norm(theta[active][:, None, :] - minima[None, :, :], axis=-1)
        label[active] = dist.argmin(axis=1)
    return label


def _flow_end(
    landscape: Landscape, start: np.ndarray, saddle: CriticalPoint, critical: CriticalPoints
) -> int:
    """The minimum the gradient flow from ``start`` (next to ``saddle``) ends in, or −1.

    RK45 with relative tolerance 1e-8 (steps adapt to the curvature: no overshoot on steep
    walls), stopped when the path enters a minimum's capture ball; the end point must lie
    below the saddle's loss (it has left the saddle downhill). A path that has not arrived
    after t = 10⁴/|λ_1(saddle)| or that leaves the box far behind gives −1.
    """
    minima = np.array([m.x for m in critical.minima])
    radius = capture_radii(critical)
    box = np.array(critical.box)
    span = float(np.max(box[:, 1] - box[:, 0]))
    centre = box.mean(axis=1)

    def arrive(k: int) -> Callable[[float, np.ndarray], float]:
        def event(_t: float, y: np.ndarray) -> float:
            return float(np.linalg.norm(y - minima[k]) - radius[k])

        event.terminal = True
        return event

    def leave(_t: float, y: np.ndarray) -> float:
        return 10 * span - float(np.max(np.abs(y - centre)))

    leave.terminal = True
    horizon = 1e4 / abs(float(np.min(saddle.hessian_eigenvalues)))
    solution = solve_ivp(
        lambda _t, y: -landscape.gradient_at(y[None, :])[0],
        (0.0, horizon),
        start,
        method="RK45",
        rtol=1e-8,
        atol=1e-10 * span,
        events=[*(arrive(k) for k in range(len(minima))), leave],
    )
    for k in range(len(minima)):
        if solution.t_events[k].size:
            end = solution.y_events[k][0]
            return k if float(landscape.loss_at(end)) < saddle.loss else -1
    return -1


def saddle_connections(landscape: Landscape, critical: CriticalPoints) -> list[tuple[int, int]]:
    """For each index-1 saddle, the two minima its unstable manifold flows into, in increasing
    order (−1: no minimum on that side / the flow leaves the box).

    1-D: exactly the nearest minimum on each side of the maximum. d ≥ 2: adaptive gradient
    flow (:func:`_flow_end`) from z ± δv, v the unstable eigenvector of ∇²L(z),
    δ = 1e-3 of the distance to the nearest minimum.
    """
    minima = np.array([m.x for m in critical.minima])
    out = []
    for saddle in critical.saddles:
        if landscape.dim == 1:
            z = float(saddle.x[0])
            left = [k for k, m in enumerate(minima[:, 0]) if m < z]
            right = [k for k, m in enumerate(minima[:, 0]) if m > z]
            ends = (left[-1] if left else -1, right[0] if right else -1)
        else:
            eigval, eigvec = np.linalg.eigh(landscape.hessian_at(saddle.x))
            v = eigvec[:, int(np.argmin(eigval))]
            delta = 1e-3 * np.linalg.norm(minima - saddle.x, axis=1).min()
            ends = tuple(
                _flow_end(landscape, saddle.x + sign * delta * v, saddle, critical)
                for sign in (-1.0, 1.0)
            )
        low, high = sorted((int(ends[0]), int(ends[1])))
        out.append((low, high))
    return out
