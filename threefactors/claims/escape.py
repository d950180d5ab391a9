"""escape: escape from a minimum takes ~exp(ΔL/T) (Eyring–Kramers; Three Factors §3;
Xie, Sato, Sugiyama, arXiv 2002.03495).

Theory: Eyring–Kramers against the exact 1-D mean first-passage time (relative error
O(T/ΔL), so it must shrink with T). Simulation: first-passage times of an SDE ensemble
from one minimum to the other's capture radius against the exact MFPT to that point;
dt-bias bounded by Richardson's |τ(dt) − τ(2dt)|.
"""

from __future__ import annotations

import numpy as np

from threefactors.claims.base import (
    ENSEMBLE_UNIT,
    ClaimSpec,
    Context,
    Evidence,
    Part,
    Settings,
    compare,
    plotter,
    read_jointly,
    trend,
)

PRIMARY_PREFIX = "mean escape time at"
PRIMARY = "mean escape time = exact MFPT at every temperature"


def _items(ctx: Context, config: Settings) -> list[Evidence]:
    """The evidence items the module docstring describes."""
    from threefactors.simulate.ensemble import langevin
    from threefactors.theory.builtin_landscapes import symmetric_double_well
    from threefactors.theory.critical import critical_points
    from threefactors.theory.escape import kramers_time, mean_first_passage_time

    land = symmetric_double_well(depth=1.0, width=0.35)
    centre = float(critical_points(land).minima[1].x[0])  # minima at ±centre
    radius = 0.1 * centre
    fine_t = np.geomspace(0.05, 0.5, 12)
    kramers_error = [
        abs(kramers_time(land, t, 0) / mean_first_passage_time(land, t, -centre, centre) - 1)
        for t in fine_t
    ]
    evidence = [
        trend(
            "theory",
            "|Kramers/MFPT − 1| vs T",
            fine_t,
            kramers_error,
            +1,
            detail=f"Kramers' asymptotic error shrinks as T → 0: {kramers_error[0]:.2%} "
            f"at T={fine_t[0]:.2g}, {kramers_error[-1]:.2%} at T={fine_t[-1]:.2g}",
        )
    ]
    temps = list(config["temperatures"])
    particles, dt = config["particles"], config["dt"]
    data = {"temperature": temps, "mfpt": [], "kramers": [], "simulated": [], "stderr": []}
    for k, t in enumerate(temps):
        exact = mean_first_passage_time(land, t, -centre, centre - radius)
        times = []
        for j, step in enumerate((dt, 2 * dt)):
            result = langevin(
                land,
                eta=2 * t,
                batch_size=1,
                sigma=1.0,
                particles=particles,
                time=15 * exact,
                dt=step,
                seed=ctx.seed + 10 * k + j,
                escape_from=0,
                escape_radius=radius,
            )
            times.append(result.escape)
        fine, coarse = times
        bias = abs(fine.mean - coarse.mean) + 4 * coarse.stderr
        evidence.append(
            compare(
                "simulate",
                f"mean escape time at T={t}",
                exact,
                fine.mean,
                fine.stderr,
                bias=bias,
                figure="escape.png",
                detail=f"barrier {1 / t:.1f} T; {fine.count} escaped, {fine.censored} "
                f"censored; Kramers says {kramers_time(land, t, 0):.4g}",
            )
        )
        data["mfpt"].append(exact)
        data["kramers"].append(kramers_time(land, t, 0))
        data["simulated"].append(fine.mean)
        data["stderr"].append(fine.stderr)
    ctx.figure("escape", data, plotter("escape"))
    return evidence


#: The items, led by the primary ones read jointly as the primary test.
evidence = read_jointly("simulate", PRIMARY, PRIMARY_PREFIX, "escape.png", _items)


SPEC = ClaimSpec(
    id="escape",
    statement="escape from a minimum takes ~exp(ΔL/T) (Eyring–Kramers)",
    source="Kramers; Three Factors §3; Xie, Sato, Sugiyama (arXiv 2002.03495)",
    command="threefactors minima; threefactors simulate langevin --escape-from 0",
    kind="verification",
    parts=(
        Part(
            statement="an SDE ensemble's mean escape time equals the exact mean first-passage "
            "time at every temperature",
            quantity=PRIMARY,
            view="simulate",
            test="|τ_sim − MFPT| ≤ 4 se + Richardson dt-bias at every temperature (all must hold)",
            readout="first passage over the saddle, 3 temperatures",
            sidedness="two-sided tolerance",
            alpha=None,
            margin="4 se + Richardson's |τ(dt) − τ(2dt)|",
            unit=ENSEMBLE_UNIT,
            replicates="10,000 particles per temperature",
        ),
    ),
    secondary=("theory: |Kramers/MFPT − 1| shrinks as T → 0 (exact, computed curve)",),
    scales={
        "quick": {"temperatures": (0.2, 0.25, 0.33), "particles": 4000, "dt": 0.005},
        "default": {"temperatures": (0.2, 0.25, 0.33), "particles": 10_000, "dt": 0.005},
    },
    views=(evidence,),
    registered="1df4b6bd3a1c",
)
