"""relaxation: occupancy relaxes at the generator's slowest rate, the exact MFPT rate (≈ Kramers)
(Kramers; Bovier, Eckhoff, Gayrard, Klein (J. Eur. Math. Soc. 2004); Three Factors §3).

How fast occupancy relaxes: the Fokker–Planck generator's slowest rate λ_1.

    Theory: λ_1 of the Scharfetter–Gummel generator against the exact 1-D rate
    1/MFPT(A→B) + 1/MFPT(B→A) (equal up to O(e^{−δ/T}) corrections, Bovier et al. 2004;
    bias 2 % of the rate), and the Eyring–Kramers sum k_A + k_B, whose error O(T/ΔL) must
    shrink with T. Simulation: occupancy over time of an SDE ensemble from one point against
    the FP transient; bias = EM dt-bias |p(dt) − p(2dt)| + the FP grid change N/2 → N.
"""

from __future__ import annotations

import numpy as np

from threefactors.claims.base import (
    ClaimSpec,
    Context,
    Evidence,
    Settings,
    compare,
    plotter,
    read_jointly,
    trend,
)

PRIMARY_PREFIX = "slowest FP rate λ_1 at"
PRIMARY = "slowest FP rate λ_1 = exact MFPT rate at every T"


def _items(ctx: Context, config: Settings) -> list[Evidence]:
    """How fast occupancy relaxes: the Fokker–Planck generator's slowest rate λ_1.

    Theory: λ_1 of the Scharfetter–Gummel generator against the exact 1-D rate
    1/MFPT(A→B) + 1/MFPT(B→A) (equal up to O(e^{−δ/T}) corrections, Bovier et al. 2004;
    bias 2 % of the rate), and the Eyring–Kramers sum k_A + k_B, whose error O(T/ΔL) must
    shrink with T. Simulation: occupancy over time of an SDE ensemble from one point against
    the FP transient; bias = EM dt-bias |p(dt) − p(2dt)| + the FP grid change N/2 → N.
    """
    from threefactors.simulate.ensemble import langevin
    from threefactors.theory.builtin_landscapes import double_well
    from threefactors.theory.critical import critical_points
    from threefactors.theory.escape import escape_routes, mean_first_passage_time
    from threefactors.theory.fokker_planck import fokker_planck

    land = double_well(1.0, 0.8, 0.3, 0.5)
    crit = critical_points(land)
    a, b = (float(m.x[0]) for m in crit.minima)
    temps = list(config["temperatures"])
    data: dict = {"temperature": temps, "fp_rate": [], "mfpt_rate": [], "kramers_rate": []}
    evidence = []
    for t in temps:
        rate = float(fokker_planck(land, t, critical=crit).relaxation_rates(1)[0])
        mfpt = 1 / mean_first_passage_time(land, t, a, b) + 1 / mean_first_passage_time(
            land, t, b, a
        )
        kramers = sum(1 / r.time for r in escape_routes(land, t, crit))
        for key, value in (("fp_rate", rate), ("mfpt_rate", mfpt), ("kramers_rate", kramers)):
            data[key].append(value)
        evidence.append(
            compare(
                "theory",
                f"slowest FP rate λ_1 at T={t}",
                mfpt,
                rate,
                0.0,
                bias=0.02 * mfpt,
                figure="relaxation.png",
                detail="exact 1/MFPT(A→B) + 1/MFPT(B→A); bias 2 % for the O(e^{−δ/T}) "
                f"corrections; Eyring–Kramers says {kramers:.4g}",
            )
        )
    fine_t = np.geomspace(0.08, 0.3, 8)
    kramers_error = [
        abs(sum(1 / r.time for r in escape_routes(land, t, crit))
            / fokker_planck(land, t, critical=crit).relaxation_rates(1)[0] - 1)
        for t in fine_t
    ]  # fmt: skip
    data.update(kramers_temperature=fine_t, kramers_error=kramers_error)
    evidence.append(
        trend(
            "theory",
            "|Kramers/λ_1 − 1| vs T",
            fine_t,
            kramers_error,
            +1,
            detail="Eyring–Kramers' error O(T/ΔL) shrinks as T → 0: "
            f"{kramers_error[0]:.2%} at T={fine_t[0]:.2g}, {kramers_error[-1]:.2%} at "
            f"T={fine_t[-1]:.2g}",
        )
    )
    temperature, start, particles = 0.3, [-0.3], config["particles"]
    models = [fokker_planck(land, temperature, grid=g, critical=crit) for g in (1000, 500)]
    slowest = float(models[0].relaxation_rates(1)[0])
    runs = [
        langevin(land, eta=2 * temperature, batch_size=1, sigma=1.0, particles=particles,
                 time=1.5 / slowest, dt=dt, seed=ctx.seed + k, start=np.array(start),
                 records=31)
        for k, dt in enumerate((0.01, 0.02))
    ]  # fmt: skip
    fine, coarse = (r.occupancy_over_time[:, 0] for r in runs)
    predicted = [m.evolve(m.point_mass(start), runs[0].times).occupancy[:, 0] for m in models]
    se = np.sqrt(fine * (1 - fine) / particles)
    data.update(
        times=runs[0].times, fp_occupancy=predicted[0], simulated=fine, stderr=se,
        relaxation_time=1 / slowest, start=start, transient_temperature=temperature,
    )  # fmt: skip
    for k in (5, 15, 30):
        bias = abs(fine[k] - coarse[k]) + 4 * np.sqrt(coarse[k] * (1 - coarse[k]) / particles)
        evidence.append(
            compare(
                "simulate",
                f"P(start basin) at t={runs[0].times[k]:.3g} (T={temperature})",
                predicted[0][k],
                fine[k],
                se[k],
                bias=bias + abs(predicted[0][k] - predicted[1][k]),
                figure="relaxation.png",
                detail=f"SDE ensemble, {particles} particles from x={start[0]}, dt=0.01; "
                "bias = |p(dt) − p(2dt)| + 4 se(2dt) + FP grid change",
            )
        )
    ctx.figure("relaxation", data, plotter("relaxation"))
    return evidence


#: The items, led by the primary ones read jointly as the primary test.
evidence = read_jointly("theory", PRIMARY, PRIMARY_PREFIX, "relaxation.png", _items)


SPEC = ClaimSpec(
    id="relaxation",
    statement="occupancy relaxes at the generator's slowest rate, the exact MFPT rate (≈ Kramers)",
    source="Kramers; Bovier, Eckhoff, Gayrard, Klein (J. Eur. Math. Soc. 2004); Three Factors §3",
    command="threefactors relax --loss EXPR --lr η --batch S --sigma σ --start X0",
    primary_view="theory",
    primary=PRIMARY,
    primary_test="|λ_1 − (1/MFPT(A→B) + 1/MFPT(B→A))| ≤ 2% at every temperature",
    secondary=(
        "theory: |Kramers/λ_1 − 1| shrinks as T → 0 (Spearman)",
        "simulate: SDE occupancy = FP transient at three times",
    ),
    scales={
        "quick": {"temperatures": (0.1, 0.125, 0.15, 0.2), "particles": 20_000},
        "default": {"temperatures": (0.08, 0.1, 0.125, 0.15, 0.2, 0.25), "particles": 200_000},
    },
    views=(evidence,),
)
