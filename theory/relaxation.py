"""How fast SGD's occupancy relaxes: Fokker–Planck transients against Kramers and MFPT rates.

From a start θ₀ (a point mass), the Fokker–Planck density (:mod:`.fokker_planck`) gives the
occupancy of every basin at the requested times; its generator's smallest nonzero
eigenvalues are the relaxation rates. They are set beside

- the Eyring–Kramers escape rates 1/τ_A of every minimum (:mod:`.escape`);
- in 1-D, the exact rates 1/MFPT(x_A → x_B) to the minimum across the escape saddle. For two
  wells, the slowest rate λ_1 = 1/MFPT(A → B) + 1/MFPT(B → A) up to relative corrections
  exponentially small in ΔL/T (Bovier, Eckhoff, Gayrard, Klein, J. Eur. Math. Soc. 6, 399
  (2004), Theorem 1.2: λ_1 = 1/E τ (1 + O(e^{−δ/T}))).
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from threefactors.errors import check_positive
from threefactors.theory.critical import critical_points
from threefactors.theory.escape import escape_routes, mean_first_passage_time
from threefactors.theory.fokker_planck import Evolution, FokkerPlanck, check_times, fokker_planck
from threefactors.theory.landscape import Landscape


@dataclass
class Relaxation:
    """The transient of one start: densities and occupancies over time, the spectrum, and
    the rates it is held against (``mfpt_rates`` and ``mfpt_relaxation_rate`` in 1-D only;
    the latter for exactly two minima)."""

    model: FokkerPlanck
    evolution: Evolution
    relaxation_rates: np.ndarray
    kramers_rates: np.ndarray
    mfpt_rates: np.ndarray | None
    mfpt_relaxation_rate: float | None
    stationary_occupancy: np.ndarray
    seconds: float

    def summary(self) -> dict:
        """The ``relax --json`` document (contract keys first)."""
        grid = self.model.grid
        return {
            "times": self.evolution.times,
            "occupancy": self.evolution.occupancy,
            "relaxation_rates": self.relaxation_rates,
            "kramers_rates": self.kramers_rates,
            "stationary_occupancy": self.stationary_occupancy,
            "mass_error": self.evolution.mass_error,
            "grid": int(grid.cells[0]),
            "box": [list(b) for b in grid.box],
            "spacing": grid.spacing,
            "temperature": self.model.temperature,
            "minima": [m.x for m in self.model.critical.minima],
            "mfpt_rates": self.mfpt_rates,
            "mfpt_relaxation_rate": self.mfpt_relaxation_rate,
            "time_error": self.evolution.time_error,
            "min_density": self.evolution.min_density,
            "method": self.evolution.method,
            "seconds": self.seconds,
        }


def default_times(model: FokkerPlanck, slowest: float, count: int = 12) -> np.ndarray:
    """0 and ``count`` times spaced geometrically from 0.1/λ_max(H) (the fastest in-well
    relaxation) to 3/λ_1 (three slowest relaxation times)."""
    sharpest = max(float(np.max(m.hessian_eigenvalues)) for m in model.critical.minima)
    first = 0.1 / max(sharpest, 1e-12)
    last = max(3.0 / slowest, 10 * first) if slowest > 0 else 1e3 * first
    return np.concatenate([[0.0], np.geomspace(first, last, count)])


def relax(
    landscape: Landscape,
    temperature: float,
    start: Sequence[float],
    times: Sequence[float] | None = None,
    grid: int | None = None,
    method: str = "krylov",
) -> Relaxation:
    """Occupancy over time from a point mass at ``start``, the relaxation rates (as many as
    there are minima) and the Kramers / exact MFPT rates (SDE time t = kη)."""
    began = _time.perf_counter()
    check_positive("temperature", temperature)
    critical = critical_points(landscape)
    model = fokker_planck(landscape, temperature, grid, critical)
    initial = model.point_mass(start)
    if times is not None:
        times = check_times(times)
    n = len(critical.minima)
    rates = model.relaxation_rates(max(n, 2))
    if times is None:
        times = default_times(model, float(rates[0]))
    evolution = model.evolve(initial, times, method=method)
    routes = escape_routes(landscape, temperature, critical)
    kramers = np.array([1.0 / r.time for r in routes])
    mfpt = None
    if landscape.dim == 1 and n > 1:
        mfpt = np.array(
            [
                1.0
                / mean_first_passage_time(
                    landscape,
                    temperature,
                    float(critical.minima[r.start].x[0]),
                    float(critical.minima[r.target].x[0]),
                )
                if r.target >= 0
                else np.nan
                for r in routes
            ]
        )
    return Relaxation(
        model=model,
        evolution=evolution,
        relaxation_rates=rates,
        kramers_rates=kramers,
        mfpt_rates=mfpt,
        mfpt_relaxation_rate=float(mfpt.sum()) if mfpt is not None and n == 2 else None,
        stationary_occupancy=model.occupancy(model.stationary),
        seconds=_time.perf_counter() - began,
    )
