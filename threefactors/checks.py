"""The claims of the seed papers and how each view checks them (``threefactors reproduce``).

Every check returns :class:`~threefactors.claims.Evidence` judged by statistics (see
:mod:`threefactors.claims`) and saves the data behind its figure. Sizes: ``ctx.quick`` picks
CPU-minutes settings; the full settings use more particles, temperatures and seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from threefactors.claims import Evidence, compare, trend
from threefactors.reproduce import ClaimSpec, Context

if TYPE_CHECKING:
    from threefactors.theory.landscape import Landscape

# The width/depth landscape: a deep sharp minimum (left, D = 1, w = 0.2: L'' = 25) and a
# higher, wide one (right, D = 0.8, w = 0.5: L'' = 4). Barriers stay within a few T over the
# temperatures used, so an ensemble started uniformly equilibrates in CPU-seconds.
WIDTH_DEPTH_WELL = {"depth_left": 1.0, "depth_right": 0.8, "width_left": 0.2, "width_right": 0.5}


def _relaxation_time(landscape: Landscape, temperature: float) -> float:
    """1/(k_A + k_B) with Kramers rates k = 1/τ: the two-well relaxation time (SDE time)."""
    from threefactors.theory.escape import kramers_time

    rates = [1 / kramers_time(landscape, temperature, i) for i in range(2)]
    return 1 / sum(rates)


def _sde_occupancy(
    landscape: Landscape, temperature: float, dt: float, ctx: Context, particles: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Occupancy (and its standard error) of an SDE ensemble at T = ησ²/(2S) (σ = S = 1)."""
    from threefactors.simulate.ensemble import langevin

    time = 8 * _relaxation_time(landscape, temperature)
    result = langevin(
        landscape,
        eta=2 * temperature,
        batch_size=1,
        sigma=1.0,
        particles=particles,
        time=time,
        dt=dt,
        seed=seed,
    )
    return result.occupancy, result.occupancy_stderr


def check_width_depth(ctx: Context) -> list[Evidence]:
    """Which minimum wins: the wide-but-higher one once T = ησ²/(2S) passes the crossover.

    Theory: exact Gibbs basin masses by quadrature and the Laplace crossover
    n* = (L_A − L_B)/log sqrt(det H_B/det H_A) (Three Factors, §3). Simulation: occupancy of
    an SDE ensemble started uniformly, run 8 relaxation times; its dt-bias is bounded by
    Richardson's estimate |p(dt) − p(2dt)| (Euler–Maruyama is weakly first order).
    """
    from threefactors.theory.critical import critical_points
    from threefactors.theory.gibbs import (
        gibbs_crossover,
        gibbs_probabilities,
        laplace_crossover,
        laplace_probabilities,
    )
    from threefactors.theory.landscapes import double_well

    land = double_well(**WIDTH_DEPTH_WELL)
    crit = critical_points(land)
    wide, sharp = 1, 0
    n_star, exact_star = laplace_crossover(crit, wide, sharp), gibbs_crossover(land, wide, sharp)
    temps = [0.2, 0.27, 0.36, 0.5, 0.7] if ctx.quick else [0.15, 0.2, 0.27, 0.36, 0.5, 0.7, 1.0]
    particles = 20_000 if ctx.quick else 200_000
    dt = 0.002
    curve_t = np.geomspace(0.1, 1.2, 60)
    data = {
        "temperature_curve": curve_t,
        "gibbs_wide": [gibbs_probabilities(land, t, crit)[wide] for t in curve_t],
        "laplace_wide": [laplace_probabilities(land, t, crit)[wide] for t in curve_t],
        "laplace_crossover": n_star,
        "gibbs_crossover": exact_star,
        "temperature": temps,
        "simulated_wide": [],
        "simulated_stderr": [],
        "dt_bias": [],
        "landscape": str(land.loss),
    }
    evidence = []
    for i, t in enumerate(temps):
        ctx.log(f"  width-depth: T = {t}")
        p_dt, se = _sde_occupancy(land, t, dt, ctx, particles, ctx.seed + i)
        p_2dt, se2 = _sde_occupancy(land, t, 2 * dt, ctx, particles, ctx.seed + 100 + i)
        bias = abs(p_dt[wide] - p_2dt[wide])
        exact = gibbs_probabilities(land, t, crit)[wide]
        data["simulated_wide"].append(p_dt[wide])
        data["simulated_stderr"].append(se[wide])
        data["dt_bias"].append(bias)
        evidence.append(
            compare(
                "simulate",
                f"P(wide minimum) at T={t}",
                exact,
                p_dt[wide],
                se[wide],
                bias=bias + 4 * se2[wide],
                figure="width_depth.png",
                detail=f"SDE ensemble, {particles} particles, dt={dt}; bias bound = "
                f"|p(dt) − p(2dt)| + 4 se(2dt)",
            )
        )
    figure = ctx.figure("width_depth", data, _plot("width_depth"))
    theory = trend(
        "theory",
        "exact Gibbs P(wide) vs temperature",
        curve_t,
        data["gibbs_wide"],
        +1,
        figure=figure,
        detail=f"Laplace crossover n* = {n_star:.3f}, exact crossover "
        f"{exact_star:.3f}: Laplace is off where the wells are anharmonic",
    )
    return [theory, *evidence, *_experiment_evidence(ctx, "ratio")]


def _experiment_evidence(ctx: Context, name: str) -> list[Evidence]:
    """Run (or resume) an empirical experiment's grid under OUT/runs/NAME; its evidence."""
    from threefactors.empirical.experiments import run_experiment

    def on_run(done: int, total: int, record: dict | None) -> None:
        ctx.log(f"  {name}: run {done}/{total}")

    result = run_experiment(name, quick=ctx.quick, out=ctx.out / "runs" / name, on_run=on_run)
    summary = result["summary"]
    if summary is None:
        failed = "; ".join(str(f) for f in result["failed"])[:300]
        return [Evidence("empirical", name, None, None, "not run", f"grid incomplete: {failed}")]
    return [Evidence(**e) for e in summary["evidence"]]


def _plot(name: str) -> Callable[[dict, object], None]:
    from threefactors import plotting

    return getattr(plotting, f"plot_{name.replace('-', '_')}")


CLAIMS: tuple[ClaimSpec, ...] = (
    ClaimSpec(
        "width-depth",
        "larger ησ²/S favours wide minima over deep ones",
        "Three Factors (arXiv 1711.04623) §3; ICANN 2018",
        "threefactors reproduce --only width-depth",
        check_width_depth,
    ),
)
