"""relaxation: occupancy relaxes at the generator's slowest rate, the exact MFPT rate (≈ Kramers)
(Kramers; Bovier, Eckhoff, Gayrard, Klein (J. Eur. Math. Soc. 2004); Three Factors §3).

How fast occupancy relaxes: the Fokker–Planck generator's slowest rate λ_1.

    Theory: λ_1 of the Scharfetter–Gummel generator against the exact 1-D rate
    1/MFPT(A→B) + 1/MFPT(B→A): equal up to corrections that vanish as T → 0 (Bovier et al.
    2004), so the primary test is that their relative gap shrinks with T (no fixed
    tolerance: at T = 0.3 the wells are barely metastable and the gap is ~7 %); and the
    Eyring–Kramers sum k_A + k_B, whose error O(T/ΔL) must shrink with T.
    Simulation: occupancy over time of an SDE ensemble from one point against
    the FP transient; bias = EM dt-bias |p(dt) − p(2dt)| + the FP grid change N/2 → N.
"""

from __future__ import annotations

import numpy as np

from threefactors.claims.base import (
    ENSEMBLE_UNIT,
    Amendment,
    ClaimSpec,
    Context,
    Evidence,
    Part,
    Settings,
    compare,
    jointly,
    plotter,
    trend,
)

PRIMARY = "|λ_1 / exact MFPT rate − 1| vs T (vanishes as T → 0)"
TRANSIENT = "SDE occupancy = Fokker–Planck transient at every time"


def _mfpt_rate(land, temperature: float, a: float, b: float) -> float:
    """The exact 1-D two-well rate 1/MFPT(A→B) + 1/MFPT(B→A)."""
    from threefactors.theory.escape import mean_first_passage_time

    return 1 / mean_first_passage_time(land, temperature, a, b) + 1 / mean_first_passage_time(
        land, temperature, b, a
    )


def _items(ctx: Context, config: Settings) -> list[Evidence]:
    """The evidence items the module docstring describes."""
    from threefactors.simulate.ensemble import langevin
    from threefactors.theory.builtin_landscapes import double_well
    from threefactors.theory.critical import critical_points
    from threefactors.theory.escape import escape_routes
    from threefactors.theory.fokker_planck import fokker_planck

    land = double_well(1.0, 0.8, 0.3, 0.5)
    crit = critical_points(land)
    a, b = (float(m.x[0]) for m in crit.minima)
    temps = list(config["temperatures"])
    data: dict = {"temperature": temps, "fp_rate": [], "mfpt_rate": [], "kramers_rate": []}
    for t in temps:
        data["fp_rate"].append(float(fokker_planck(land, t, critical=crit).relaxation_rates(1)[0]))
        data["mfpt_rate"].append(_mfpt_rate(land, t, a, b))
        data["kramers_rate"].append(sum(1 / r.time for r in escape_routes(land, t, crit)))
    fine_t = np.geomspace(0.08, 0.3, 8)
    fp_rates = [float(fokker_planck(land, t, critical=crit).relaxation_rates(1)[0]) for t in fine_t]
    mfpt_gap = [
        abs(r / _mfpt_rate(land, t, a, b) - 1) for r, t in zip(fp_rates, fine_t, strict=True)
    ]
    kramers_error = [
        abs(sum(1 / r.time for r in escape_routes(land, t, crit)) / rate - 1)
        for rate, t in zip(fp_rates, fine_t, strict=True)
    ]
    data.update(kramers_temperature=fine_t, kramers_error=kramers_error, mfpt_gap=mfpt_gap)
    gaps = ", ".join(f"{g:.2%} at T={t:.2g}" for g, t in zip(mfpt_gap, fine_t, strict=True))
    evidence = [
        trend(
            "theory",
            PRIMARY,
            fine_t,
            mfpt_gap,
            +1,
            detail=f"|λ_1 / (1/MFPT(A→B) + 1/MFPT(B→A)) − 1| = {gaps}",
            figure="relaxation.png",
        ),
        trend(
            "theory",
            "|Kramers/λ_1 − 1| vs T",
            fine_t,
            kramers_error,
            +1,
            detail="Eyring–Kramers' error O(T/ΔL) shrinks as T → 0: "
            f"{kramers_error[0]:.2%} at T={fine_t[0]:.2g}, {kramers_error[-1]:.2%} at "
            f"T={fine_t[-1]:.2g}",
        ),
    ]
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
    transient = [e for e in evidence if e.view == "simulate"]
    evidence.insert(2, jointly("simulate", TRANSIENT, transient, figure="relaxation.png"))
    ctx.figure("relaxation", data, plotter("relaxation"))
    return evidence


evidence = _items


SPEC = ClaimSpec(
    id="relaxation",
    statement="occupancy relaxes at the generator's slowest rate, the exact MFPT rate (≈ Kramers)",
    source="Kramers; Bovier, Eckhoff, Gayrard, Klein (J. Eur. Math. Soc. 2004); Three Factors §3",
    command="threefactors relax --loss EXPR --lr η --batch S --sigma σ --start X0",
    kind="verification",
    parts=(
        Part(
            statement="the Fokker–Planck generator's slowest rate λ₁ tends to the exact MFPT "
            "rate as T → 0",
            quantity=PRIMARY,
            view="theory",
            test="exact: the computed gap |λ₁/rate − 1| is strictly increasing in T over 8 "
            "temperatures from 0.08 to 0.3 (a deterministic curve: no p-value)",
            readout="Scharfetter–Gummel generator on a 1-D double well",
            sidedness="monotone in the claimed direction",
            alpha=None,
            unit="computed curve (deterministic)",
            replicates="8 temperatures",
        ),
        Part(
            statement="an SDE ensemble's occupancy follows the Fokker–Planck transient",
            quantity=TRANSIENT,
            view="simulate",
            test="|p_sim − p_FP| ≤ 4 se + dt-bias + FP grid change at t = 3 times (all must hold)",
            readout="P(start basin) at three times, T = 0.3",
            sidedness="two-sided tolerance",
            alpha=None,
            margin="4 se + |p(dt) − p(2dt)| + 4 se(2dt) + the FP solution's change with the grid",
            unit=ENSEMBLE_UNIT,
            replicates="100,000 particles",
        ),
    ),
    secondary=("theory: |Kramers/λ_1 − 1| shrinks as T → 0 (exact, computed curve)",),
    scales={
        "quick": {"temperatures": (0.1, 0.125, 0.15, 0.2), "particles": 20_000},
        "default": {"temperatures": (0.1, 0.125, 0.15, 0.2, 0.25), "particles": 100_000},
    },
    views=(evidence,),
    registered="",
    amendments=(
        Amendment(
            date="2026-12-01",
            change="registered test: a 2 % tolerance |λ₁/rate − 1| ≤ 0.02 at every temperature "
            "→ the gap's vanishing as T → 0 (a trend)",
            old_result="failed at T = 0.25 (gap above 2 %)",
            reason="λ₁ equals the MFPT rate only asymptotically (Bovier et al. 2004): a fixed "
            "tolerance at finite T tests a number the theory does not claim. Changed after the "
            "old test failed; shown here with its result.",
            design_hash="",
        ),
        Amendment(
            date="2026-12-02",
            change="the trend on a computed curve is an exact fact (strict monotonicity), not "
            "a Spearman permutation p; the SDE-vs-FP transient is a registered part",
            old_result="agrees: Spearman ρ = +1, permutation p = 5e-5 (seed 0)",
            reason="a deterministic curve has no sampling error to test; the transient check "
            "is the only part touching a simulation",
            design_hash="d3308aae6c34",
        ),
    ),
)
