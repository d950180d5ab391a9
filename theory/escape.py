"""Escape from a minimum: Eyring–Kramers times and the exact 1-D mean first-passage time.

SDE (time t = kη): dθ = −∇L dt + sqrt(2T) dW, T = ησ²/(2S).
- Eyring–Kramers (Bovier, Eckhoff, Gayrard, Klein 2004; Berglund 2013, "Kramers' law"):
  mean time to leave minimum x over index-1 saddle z,
  E τ ≈ (2π/|λ_1(z)|) sqrt(|det ∇²L(z)| / det ∇²L(x)) exp((L(z) − L(x))/T);
  1-D: 2π / sqrt(L''(x) |L''(z)|) · exp(ΔL/T). Relative error O(T/ΔL).
- Exact 1-D mean first-passage time from x to a target b > x, reflecting at −∞
  (Gardiner, Handbook of Stochastic Methods, §5.2.7): the backward equation
  T τ'' − L' τ' = −1, τ(b) = 0, τ'(−∞) = 0 gives
  τ(x) = (1/T) ∫_x^b dy e^{L(y)/T} ∫_{−∞}^y dz e^{−L(z)/T}  (mirror image for b < x).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import cumulative_simpson, simpson

from threefactors.errors import require
from threefactors.theory.critical import (
    CriticalPoint,
    CriticalPoints,
    critical_points,
    saddle_connections,
)
from threefactors.theory.gibbs import density_edge
from threefactors.theory.landscape import Landscape
from threefactors.theory.setting import SGDSetting, as_temperature


@dataclass(frozen=True)
class Escape:
    """Escape route from minimum ``start`` (index into minima) over ``saddle`` to ``target``.

    ``prefactor`` = (2π/|λ_1(z)|) sqrt(|det H(z)|/det H(x)); ``time`` = prefactor·e^{barrier/T}
    in SDE time t = kη (``inf`` when the minimum has no saddle: nothing to escape over; NaN
    when the minimum is degenerate, det H(x) = 0, where Eyring–Kramers does not apply).
    """

    start: int
    saddle: CriticalPoint | None
    target: int
    barrier: float
    prefactor: float
    time: float


def _route(minimum: CriticalPoint, saddle: CriticalPoint) -> tuple[float, float]:
    """(barrier, Eyring–Kramers prefactor) from ``minimum`` over ``saddle`` (NaN prefactor
    for a degenerate minimum)."""
    if minimum.degenerate:
        return saddle.loss - minimum.loss, float("nan")
    unstable = float(np.min(saddle.hessian_eigenvalues))
    log_pref = np.log(2 * np.pi / abs(unstable)) + 0.5 * (
        saddle.log_det_hessian - minimum.log_det_hessian
    )
    return saddle.loss - minimum.loss, float(np.exp(log_pref))


def escape_routes(
    landscape: Landscape, temperature: float | SGDSetting, critical: CriticalPoints | None = None
) -> list[Escape]:
    """For every minimum, the Eyring–Kramers escape over its lowest adjacent saddle.

    Adjacent: the saddle's unstable manifold flows into this minimum (in 1-D, the maxima
    on either side; :func:`~threefactors.theory.critical.saddle_connections`). ``target``
    is the minimum on the other side of that saddle (−1 if the flow leaves the box).
    """
    temperature = as_temperature(temperature)
    critical = critical or critical_points(landscape)
    links = saddle_connections(landscape, critical) if critical.saddles else []
    out = []
    for k, minimum in enumerate(critical.minima):
        options = [
            (critical.saddles[s].loss, s, b if a == k else a)
            for s, (a, b) in enumerate(links)
            if k in (a, b) and a != b
        ]
        if not options:
            out.append(Escape(k, None, -1, float("inf"), float("nan"), float("inf")))
            continue
        _, s, target = min(options)
        barrier, prefactor = _route(minimum, critical.saddles[s])
        time = float(np.exp(np.log(prefactor) + barrier / temperature))
        out.append(Escape(k, critical.saddles[s], target, barrier, prefactor, time))
    return out


def kramers_time(
    landscape: Landscape, temperature: float | SGDSetting, minimum_index: int
) -> float:
    """Eyring–Kramers mean exit time (SDE time t = kη) from minimum ``minimum_index``
    (index into ``critical_points(landscape).minima``) over its lowest saddle."""
    routes = escape_routes(landscape, temperature)
    require(
        0 <= minimum_index < len(routes),
        "minimum_index",
        minimum_index,
        f"there are {len(routes)} minima",
    )
    return routes[minimum_index].time


def mean_first_passage_time(
    landscape: Landscape,
    temperature: float | SGDSetting,
    start: float,
    target: float,
    points: int = 0,
) -> float:
    """Exact mean first-passage time from ``start`` to ``target`` for dx = −L' dt + sqrt(2T) dW.

    1-D only; reflecting on the far side (beyond ``start``, at the point where L exceeds
    its minimum there by 50 T, so the truncation error is < e^{−50}). Nested integral of the
    backward equation (module docstring) by cumulative Simpson on a uniform grid with
    spacing ≤ sqrt(T/max|L''|)/20 (``points`` overrides the grid size); returns ``inf``
    when e^{ΔL/T} overflows double precision.
    """
    temperature = as_temperature(temperature)
    require(landscape.dim == 1, "loss", str(landscape.loss), "mean first-passage time needs d = 1")
    require(start != target, "target", target, "must differ from start")
    sign = 1.0 if target > start else -1.0
    critical = critical_points(landscape)
    xs = [p.x[0] for p in (*critical.minima, *critical.saddles, *critical.others)]
    behind = [x for x in (*xs, start) if sign * (x - start) <= 0]
    floor = float(landscape.loss_at(np.array([[x] for x in behind])).min())
    far = density_edge(landscape, (min if sign > 0 else max)(behind), -sign, floor, temperature)
    curvature = max(
        [abs(float(p.hessian_eigenvalues[0])) for p in (*critical.minima, *critical.saddles)]
    )
    spacing = np.sqrt(temperature / curvature) / 20
    n = points or int(np.clip(abs(target - far) / spacing, 2000, 400000))
    n_behind = max(int(n * abs(start - far) / abs(target - far)), 200)
    # in u = sign·x the target lies to the right and the reflecting end to the left
    grid = sign * np.concatenate(
        [np.linspace(far, start, n_behind + 1)[:-1], np.linspace(start, target, n - n_behind + 1)]
    )
    energy = landscape.loss_at(sign * grid[:, None]) / temperature
    shift = energy.min()
    inner = cumulative_simpson(np.exp(-(energy - shift)), x=grid, initial=0.0)
    exponent = energy[n_behind:] - shift + np.log(np.maximum(inner[n_behind:], 1e-300))
    if exponent.max() > 700:
        return float("inf")
    outer = simpson(np.exp(exponent), x=grid[n_behind:])
    return float(outer / temperature)
