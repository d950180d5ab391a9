"""Which minimum wins: Gibbs mass of each basin, exact (quadrature) and Laplace.

Stationary density p(θ) ∝ exp(−L(θ)/T), T = n = ησ²/(2S) (Three Factors, arXiv 1711.04623).
- Exact: P_A = ∫_{basin A} e^{−L/T} dθ / ∫ e^{−L/T} dθ, basin = domain of attraction of A
  under gradient flow (in 1-D: the interval between the neighbouring maxima). 1-D by
  adaptive quadrature (scipy.integrate.quad), 2-D by the trapezoidal rule on a grid finer
  than the narrowest Laplace Gaussian (spectrally accurate for smooth, decaying integrands).
- Laplace: P_A ∝ exp(−L_A/T) sqrt((2πT)^d / det H_A) — exact as T → 0, error O(T).
- Crossover: a higher, wider minimum A overtakes a lower, sharper B once
  T > n* = (L_A − L_B) / log sqrt(det H_B / det H_A).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import logsumexp

from threefactors.errors import InputError, require
from threefactors.theory.critical import CriticalPoints, critical_points, flow_to_minima
from threefactors.theory.landscape import Landscape
from threefactors.theory.setting import SGDSetting, as_temperature

#: Integration stops where the density has dropped below exp(−_TAIL) of its peak.
_TAIL = 50.0
#: Sub-grid size per axis for 2-D cells cut by a basin boundary.
_SUBCELLS = 16


def laplace_log_masses(
    landscape: Landscape, temperature: float | SGDSetting, critical: CriticalPoints
) -> np.ndarray:
    """log of exp(−L_A/T) sqrt((2πT)^d / det H_A) for each minimum A."""
    temperature = as_temperature(temperature)
    d = landscape.dim
    return np.array(
        [
            -m.loss / temperature
            + 0.5 * d * np.log(2 * np.pi * temperature)
            - 0.5 * m.log_det_hessian
            for m in critical.minima
        ]
    )


def laplace_probabilities(
    landscape: Landscape, temperature: float | SGDSetting, critical: CriticalPoints | None = None
) -> np.ndarray:
    """Normalised Laplace probabilities P_A = m_A / Σ_B m_B,
    m_A = e^{−L_A/T} sqrt((2πT)^d / det H_A).

    All NaN (invalid) when a minimum is degenerate (det H_A = 0: no Gaussian to integrate).
    """
    critical = critical or critical_points(landscape)
    if any(m.degenerate for m in critical.minima):
        return np.full(len(critical.minima), np.nan)
    logm = laplace_log_masses(landscape, temperature, critical)
    return np.exp(logm - logsumexp(logm))


def density_edge(
    landscape: Landscape, start: float, direction: float, floor: float, temperature: float
) -> float:
    """The point beyond which e^{−(L − floor)/T} < e^{−50}: walk from ``start`` in
    ``direction`` with doubling steps; InputError if L never rises that far (not normalisable)."""
    step = 0.1
    x = start
    outward = direction * float(landscape.gradient_at(np.array([start + direction * 1e-3]))[0])
    for _ in range(80 if outward > 0 else 0):
        x = start + direction * step
        if float(landscape.loss_at(np.array([x]))) - floor > _TAIL * temperature:
            return x
        step *= 2
    raise InputError(
        "loss",
        str(landscape.loss),
        "exp(-L/T) is not normalisable: L does not grow away from the minima",
    )


def _domain_1d(
    landscape: Landscape, temperature: float, critical: CriticalPoints
) -> tuple[float, float]:
    xs = [p.x[0] for p in (*critical.minima, *critical.saddles, *critical.others)]
    floor = min(m.loss for m in critical.minima)
    return (
        density_edge(landscape, min(xs), -1.0, floor, temperature),
        density_edge(landscape, max(xs), 1.0, floor, temperature),
    )


def _gibbs_1d(landscape: Landscape, temperature: float, critical: CriticalPoints) -> np.ndarray:
    lo, hi = _domain_1d(landscape, temperature, critical)
    floor = min(m.loss for m in critical.minima)
    cuts = [lo, *sorted(s.x[0] for s in critical.saddles), hi]
    require(
        len(cuts) == len(critical.minima) + 1,
        "loss",
        str(landscape.loss),
        "1-D minima and maxima do not alternate (degenerate critical point)",
    )

    def density(x: float) -> float:
        return float(np.exp(-(landscape.loss_at(np.array([x])) - floor) / temperature))

    masses = []
    for k, minimum in enumerate(critical.minima):
        a, b = cuts[k], cuts[k + 1]
        # split at the minimum so quad sees the peak at an endpoint
        width = np.sqrt(temperature / max(minimum.hessian_eigenvalues[0], 1e-300))
        mass = 0.0
        for left, right in ((a, minimum.x[0]), (minimum.x[0], b)):
            mass += quad(
                density,
                left,
                right,
                epsabs=0.0,
                epsrel=1e-11,
                limit=500,
                points=[
                    p
                    for p in (minimum.x[0] - 5 * width, minimum.x[0] + 5 * width)
                    if left < p < right
                ]
                or None,
            )[0]
        masses.append(mass)
    masses = np.array(masses)
    return masses / masses.sum()


def gibbs_box(
    landscape: Landscape, temperature: float, critical: CriticalPoints
) -> tuple[tuple[float, float], ...]:
    """A box (d ≤ 2) outside which e^{−(L − L_min)/T} < e^{−50}: in 1-D the edges found by
    :func:`density_edge`; in 2-D the critical points' box, widened by 25 % per side until
    the density on its rim is below e^{−50} (InputError if it never is)."""
    if landscape.dim == 1:
        return (_domain_1d(landscape, temperature, critical),)
    floor = min(m.loss for m in critical.minima)
    box = np.array(critical.box, dtype=float)
    for _ in range(30):
        edge = [np.linspace(box[0, 0], box[0, 1], 200), np.linspace(box[1, 0], box[1, 1], 200)]
        rim = np.concatenate(
            [np.stack([np.full(200, box[0, i]), edge[1]], -1) for i in (0, 1)]
            + [np.stack([edge[0], np.full(200, box[1, i])], -1) for i in (0, 1)]
        )
        if landscape.loss_at(rim).min() - floor > _TAIL * temperature:
            return tuple((float(lo), float(hi)) for lo, hi in box)
        span = box[:, 1] - box[:, 0]
        box = box + np.outer(span * 0.25, [-1.0, 1.0])
    raise InputError(
        "loss",
        str(landscape.loss),
        "exp(-L/T) is not normalisable: L does not grow away from the minima",
    )


def _gibbs_2d(landscape: Landscape, temperature: float, critical: CriticalPoints) -> np.ndarray:
    floor = min(m.loss for m in critical.minima)
    box = np.array(gibbs_box(landscape, temperature, critical))
    sharpest = max(float(m.hessian_eigenvalues.max()) for m in critical.minima)
    spacing = 0.5 * np.sqrt(temperature / sharpest)
    counts = [int(np.clip(np.ceil((hi - lo) / spacing), 200, 700)) + 1 for lo, hi in box]
    axes = [np.linspace(lo, hi, n) for (lo, hi), n in zip(box, counts, strict=True)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    weight = np.exp(-(landscape.loss_at(grid) - floor) / temperature)
    relevant = weight > np.exp(-_TAIL)
    label = np.full(len(grid), -1)
    label[relevant] = flow_to_minima(landscape, grid[relevant], critical)
    masses = np.array([weight[label == k].sum() for k in range(len(critical.minima))])
    # cells cut by a basin boundary: re-split their mass on a k×k midpoint sub-grid
    # (the indicator's O(h) error becomes O(h/k))
    shaped = label.reshape(counts)
    cut = np.zeros(counts, dtype=bool)
    for axis in (0, 1):
        differs = np.diff(shaped, axis=axis) != 0
        cut |= np.pad(differs, [(1, 0) if a == axis else (0, 0) for a in (0, 1)])
        cut |= np.pad(differs, [(0, 1) if a == axis else (0, 0) for a in (0, 1)])
    cut = cut.ravel() & relevant
    if np.any(cut):
        steps = np.array([ax[1] - ax[0] for ax in axes])
        frac = (np.arange(_SUBCELLS) + 0.5) / _SUBCELLS - 0.5
        offsets = np.stack(np.meshgrid(frac, frac, indexing="ij"), -1).reshape(-1, 2) * steps
        sub = (grid[cut][:, None, :] + offsets[None, :, :]).reshape(-1, 2)
        sub_weight = np.exp(-(landscape.loss_at(sub) - floor) / temperature) / len(offsets)
        sub_label = flow_to_minima(landscape, sub, critical)
        for k in range(len(critical.minima)):
            masses[k] += sub_weight[sub_label == k].sum() - weight[cut & (label == k)].sum()
    return masses / masses.sum()


def gibbs_probabilities(
    landscape: Landscape, temperature: float | SGDSetting, critical: CriticalPoints | None = None
) -> np.ndarray:
    """Exact Gibbs mass of each minimum's basin under p ∝ exp(−L/T), by quadrature (d ≤ 2).

    In the order of ``critical_points(landscape).minima``. Mass that gradient flow carries out
    of every basin (none for a confining L) is left out of the normalisation.
    """
    temperature = as_temperature(temperature)
    require(landscape.dim <= 2, "loss", str(landscape.loss), "Gibbs quadrature needs d ≤ 2")
    critical = critical or critical_points(landscape)
    if len(critical.minima) == 1:
        _domain_1d(landscape, temperature, critical) if landscape.dim == 1 else None
        return np.ones(1)
    if landscape.dim == 1:
        return _gibbs_1d(landscape, temperature, critical)
    return _gibbs_2d(landscape, temperature, critical)


def laplace_crossover(critical: CriticalPoints, wide: int, sharp: int) -> float:
    """n* = (L_A − L_B) / log sqrt(det H_B / det H_A), A = ``wide``, B = ``sharp``.

    The temperature above which the Laplace mass of A exceeds that of B; ``inf`` when A
    never overtakes (A both lower-or-equal and sharper, or higher and not wider).
    """
    a, b = critical.minima[wide], critical.minima[sharp]
    log_ratio = 0.5 * (b.log_det_hessian - a.log_det_hessian)
    gap = a.loss - b.loss
    if log_ratio <= 0 or gap <= 0:
        return float("inf") if gap > 0 or log_ratio < 0 else 0.0
    return gap / log_ratio


def gibbs_crossover(
    landscape: Landscape, wide: int, sharp: int, bracket: tuple[float, float] | None = None
) -> float:
    """Exact crossover temperature: the T at which the quadrature masses P_A(T) = P_B(T).

    Root of log P_A − log P_B by Brent's method in ``bracket`` (default: n*/20 … 20 n*
    around the Laplace crossover n*).
    """
    critical = critical_points(landscape)
    guess = laplace_crossover(critical, wide, sharp)
    require(np.isfinite(guess) and guess > 0, "loss", str(landscape.loss), "no crossover (Laplace)")
    lo, hi = bracket or (guess / 20, guess * 20)

    def gap(temperature: float) -> float:
        p = gibbs_probabilities(landscape, temperature, critical)
        return float(np.log(p[wide]) - np.log(p[sharp]))

    return brentq(gap, lo, hi, xtol=1e-10 * guess, rtol=1e-10)
