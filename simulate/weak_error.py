"""When does the SDE describe SGD? The weak error E φ(θ_k) − E φ(θ(kη)) against η.

For each (η, S): true minibatch SGD (:func:`~threefactors.simulate.sgd.sgd`, shift
perturbations: per-example gradient noise of variance exactly σ², so the SDE's diffusion is
D = ησ²/(2S)) runs k = t/η steps from θ₀; the SDE's E φ(θ(t)) is computed without sampling
from its Fokker–Planck density (:mod:`threefactors.theory.fokker_planck`, d ≤ 2: no
Euler–Maruyama bias, no second ensemble), for the first-order SDE (landscape L) and for the
second-order modified equation (landscape L + (η/4)|∇L|², same diffusion; Li, Tai & E,
ICML 2017) — the modified equation is just another landscape. The gap's standard error is
SGD's alone (sample standard deviation / sqrt(particles)).

The order of each picture is the small-η slope of log |gap| against log η (:func:`fit_slope`,
weighted least squares with the next order's η term) with its standard error. Closed forms on a
quadratic: :mod:`threefactors.theory.weak_error`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from threefactors.errors import check_positive, require
from threefactors.simulate.sgd import sgd
from threefactors.theory.critical import CriticalPoints, critical_points
from threefactors.theory.fokker_planck import FokkerPlanck, fokker_planck
from threefactors.theory.gibbs import gibbs_box
from threefactors.theory.landscape import Landscape
from threefactors.theory.sde import modified_landscape

OBSERVABLES = ("mean", "second_moment", "loss", "occupancy")


@dataclass(frozen=True)
class Slope:
    """Fitted exponent of |gap| ∝ η^slope and its standard error."""

    value: float
    stderr: float

    def interval(self, z: float = 2.0) -> tuple[float, float]:
        return (self.value - z * self.stderr, self.value + z * self.stderr)


@dataclass
class WeakError:
    """Gaps per (η, S): ``sgd`` ± ``stderr`` against the SDE (``sde``) and the modified
    equation (``modified``) at t = ``time``, the Fokker–Planck values' grid error bound
    ``grid_error``; fitted slopes of |gap| against η (weights from ``stderr`` and
    ``grid_error`` added)."""

    observable: str
    time: float
    etas: np.ndarray
    batch_sizes: np.ndarray
    sgd: np.ndarray
    stderr: np.ndarray
    sde: np.ndarray
    modified: np.ndarray
    grid_error: np.ndarray
    diverged: np.ndarray

    @property
    def gap_sde(self) -> np.ndarray:
        return np.abs(self.sgd - self.sde)

    @property
    def gap_modified(self) -> np.ndarray:
        return np.abs(self.sgd - self.modified)

    @property
    def slope_sde(self) -> Slope:
        return fit_slope(self.etas, self.gap_sde, self.stderr + self.grid_error)

    @property
    def slope_modified(self) -> Slope:
        return fit_slope(self.etas, self.gap_modified, self.stderr + self.grid_error)


def fit_slope(etas: np.ndarray, gaps: np.ndarray, stderr: np.ndarray) -> Slope:
    """The order p of gap = c η^p (1 + bη + O(η²)): weighted least squares of log |gap| on
    (1, log η, η) — the η column absorbs the next order, so p is the small-η slope, not a
    chord bent by the largest η. se(log gap) = se/|gap| (delta method), floored at 1e-3.
    With only two points, the plain slope of log |gap| on log η."""
    x = np.log(np.asarray(etas, dtype=float))
    y = np.log(np.maximum(np.asarray(gaps, dtype=float), 1e-300))
    sd = np.maximum(np.asarray(stderr, dtype=float) / np.maximum(np.abs(gaps), 1e-300), 1e-3)
    w = 1 / sd**2
    columns = [np.ones_like(x), x, np.exp(x)] if x.size >= 4 else [np.ones_like(x), x]
    design = np.stack(columns, axis=1)
    cov = np.linalg.inv(design.T @ (w[:, None] * design))
    coef = cov @ design.T @ (w * y)
    return Slope(float(coef[1]), float(np.sqrt(cov[1, 1])))


def _expectation(model: FokkerPlanck, density: np.ndarray, observable: str) -> float:
    if observable == "occupancy":
        return float(model.occupancy(density)[0])
    values = _phi(model.landscape, model.grid.centres, observable)
    return float(np.sum(values * density) * model.grid.volume)


def _phi(landscape: Landscape, theta: np.ndarray, observable: str) -> np.ndarray:
    if observable == "mean":
        return theta[:, 0]
    if observable == "second_moment":
        return np.sum(theta**2, axis=1)
    return landscape.loss_at(theta)


def _sde_value(
    landscape: Landscape,
    temperature: float,
    start: np.ndarray,
    time: float,
    observable: str,
    critical: CriticalPoints,
    grid: int | None,
) -> tuple[float, float]:
    """E φ(θ(t)) from the Fokker–Planck density, and its grid error bound |f(N) − f(N/2)|.

    Box: the Gibbs box widened to hold the start. Default N: cell Péclet number
    h max|∇L|/T ≤ 1 over the region L ≤ L(θ₀) that the drift can reach, where the
    Scharfetter–Gummel scheme is second order (it degrades to first order, upwind-like,
    at large Péclet numbers); at most 40000 cells (1-D) or 400 per axis (2-D).
    """
    box = np.array(gibbs_box(landscape, temperature, critical))
    margin = 0.1 * (box[:, 1] - box[:, 0])
    box = np.stack(
        [np.minimum(box[:, 0], start - margin), np.maximum(box[:, 1], start + margin)], 1
    )
    if grid is None:
        axes = [np.linspace(lo, hi, 2001 if landscape.dim == 1 else 201) for lo, hi in box]
        probe = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], -1)
        below = landscape.loss_at(probe) <= float(landscape.loss_at(start))
        slope = float(np.max(np.linalg.norm(landscape.gradient_at(probe[below]), axis=1)))
        cells = np.max(box[:, 1] - box[:, 0]) * slope / temperature
        grid = int(np.clip(np.ceil(cells / 2) * 2, 400, 40_000 if landscape.dim == 1 else 400))
    values = []
    for cells in (grid, grid // 2):
        model = fokker_planck(landscape, temperature, cells, critical, box=box)
        density = model.evolve(model.point_mass(start), [time]).densities[0]
        values.append(_expectation(model, density, observable))
    return values[0], abs(values[0] - values[1])


def weak_error(
    landscape: Landscape,
    etas: Sequence[float],
    batch_sizes: Sequence[int],
    *,
    time: float,
    start: Sequence[float],
    observable: str = "mean",
    sigma: float = 1.0,
    particles: int = 100_000,
    examples: int = 10_000,
    seed: int = 0,
    grid: int | None = None,
) -> WeakError:
    """Measure the gap of SGD to the SDE and to the modified equation at t = ``time``.

    ``time`` must be a whole number of steps of every η. ``observable``: ``mean`` (E θ_1),
    ``second_moment`` (E |θ|²), ``loss`` (E L) or ``occupancy`` (of the first minimum's
    basin). The SGD runs use seeds ``seed``, ``seed`` + 1, …
    """
    require(observable in OBSERVABLES, "observable", observable, f"one of {OBSERVABLES}")
    require(landscape.dim <= 2, "loss", str(landscape.loss), "the SDE side needs d ≤ 2 (FP)")
    check_positive("time", time)
    etas = np.asarray(etas, dtype=float)
    batch_sizes = np.asarray(batch_sizes, dtype=int)
    require(etas.shape == batch_sizes.shape and etas.size >= 2, "etas", list(etas),
            "need ≥ 2 learning rates, one batch size each")  # fmt: skip
    point = np.asarray(start, dtype=float).reshape(landscape.dim)
    critical = critical_points(landscape)
    rows = []
    for k, (eta, batch) in enumerate(zip(etas, batch_sizes, strict=True)):
        steps = round(time / eta)
        require(abs(steps * eta - time) <= 1e-9 * time, "lr", float(eta),
                f"time {time} is not a whole number of steps")  # fmt: skip
        run = sgd(landscape, eta=float(eta), batch_size=int(batch), sigma=sigma,
                  examples=examples, particles=particles, steps=steps, seed=seed + k,
                  start=point, records=2, critical=critical)  # fmt: skip
        alive = run.final[run.alive]
        if observable == "occupancy":
            value = float(run.occupancy[0])
            se = float(np.sqrt(value * (1 - value) / max(len(alive), 1)))
        else:
            values = _phi(landscape, alive, observable)
            value, se = float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))
        temperature = eta * sigma**2 / (2 * batch)
        sde, sde_error = _sde_value(landscape, temperature, point, time, observable,
                                    critical, grid)  # fmt: skip
        modified_land = modified_landscape(landscape, float(eta))
        modified, modified_error = _sde_value(modified_land, temperature, point, time,
                                              observable, critical_points(modified_land),
                                              grid)  # fmt: skip
        rows.append((value, se, sde, modified, max(sde_error, modified_error), run.diverged))
    columns = (np.array(c) for c in zip(*rows, strict=True))
    sgd_values, stderr, sde_values, modified_values, grid_error, diverged = columns
    return WeakError(
        observable, float(time), etas, batch_sizes, sgd_values, stderr, sde_values,
        modified_values, grid_error, diverged,
    )  # fmt: skip
