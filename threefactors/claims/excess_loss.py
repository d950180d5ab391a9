"""excess-loss: with C = σ²H the excess loss is (ησ²/4S) Tr H (Three Factors, ICANN 2018 version).

Theory: h·Var/2 per direction with Var from 2hΣ = ησ²h/S. Simulation: an SDE ensemble
with C = σ²H on an anisotropic quadratic; the scheme's bias is exact here:
Euler–Maruyama's stationary variance is ησ²/(S(2 − h dt)) per direction.
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
)

PRIMARY_PREFIX = "E[L − L_min] at"
PRIMARY = "E[L − L_min] = (ησ²/4S) Tr H at every (η, S)"


def _items(ctx: Context, config: Settings) -> list[Evidence]:
    """The evidence items the module docstring describes."""
    import sympy as sp

    from threefactors.simulate.ensemble import langevin
    from threefactors.theory.builtin_landscapes import quadratic
    from threefactors.theory.setting import SGDSetting
    from threefactors.theory.stationary import scalar_laws

    laws = scalar_laws()
    h, c, eta, batch = laws["sde_variance"].symbols
    sigma = sp.Symbol("sigma", positive=True)
    per_direction = h * laws["sde_variance"].expr.subs(c, sigma**2 * h) / 2
    residual = sp.simplify(per_direction - eta * sigma**2 * h / (4 * batch))
    evidence = [
        Evidence(
            "theory",
            "h·Var/2 − ησ²h/(4S) with C = σ²H",
            "0",
            str(residual),
            "agrees" if residual == 0 else "disagrees",
            "symbolic, Lyapunov 2hΣ = ηC/S",
        )
    ]
    eigenvalues = np.array([0.5, 2.0, 8.0])
    land = quadratic(eigenvalues)
    particles, dt = config["particles"], config["dt"]
    settings = config["points"]
    data = {
        "trace_h": eigenvalues.sum(),
        "eta": [],
        "batch": [],
        "predicted": [],
        "observed": [],
        "stderr": [],
    }
    for k, (lr, s) in enumerate(settings):
        setting = SGDSetting(lr, s, sigma=1.0)
        result = langevin(
            land,
            setting,
            noise="hessian",
            particles=particles,
            time=12 / eigenvalues.min(),
            dt=dt,
            seed=ctx.seed + k,
        )
        losses = land.loss_at(result.final[result.alive])
        observed, se = losses.mean(), losses.std(ddof=1) / np.sqrt(losses.size)
        temperature = setting.temperature  # ησ²/(2S): Var = T per direction, C = σ²H
        predicted = temperature / 2 * eigenvalues.sum()
        em = float(np.sum(eigenvalues * temperature / (2 - eigenvalues * dt)))
        evidence.append(
            compare(
                "simulate",
                f"E[L − L_min] at (η,S)=({lr},{s})",
                predicted,
                observed,
                se,
                bias=abs(em - predicted),
                figure="excess_loss.png",
                detail=f"C = σ²H, Tr H = {eigenvalues.sum()}, {losses.size} particles; "
                f"bias = exact EM dt-bias {abs(em - predicted):.2g}",
            )
        )
        for key, value in (
            ("eta", lr),
            ("batch", s),
            ("predicted", predicted),
            ("observed", observed),
            ("stderr", se),
        ):
            data[key].append(value)
    ctx.figure("excess_loss", data, plotter("excess_loss"))
    return evidence


#: The items, led by the primary ones read jointly as the primary test.
evidence = read_jointly("simulate", PRIMARY, PRIMARY_PREFIX, "excess_loss.png", _items)


SPEC = ClaimSpec(
    id="excess-loss",
    statement="with C = σ²H the excess loss is (ησ²/4S) Tr H",
    source="Three Factors, ICANN 2018 version",
    command="threefactors stationary --hessian H --noise hessian",
    kind="verification",
    parts=(
        Part(
            statement="an SDE ensemble's mean excess loss equals (ησ²/4S) Tr H",
            quantity=PRIMARY,
            view="simulate",
            test="|E[L − L_min] − ησ²Tr H/(4S)| ≤ 4 se + exact Euler–Maruyama dt-bias, at "
            "every (η, S) (all must hold)",
            readout="stationary ensemble in a quadratic basin, 4 (η, S) points",
            sidedness="two-sided tolerance",
            alpha=None,
            margin="4 se + the exact dt-bias of Euler–Maruyama on a quadratic",
            unit=ENSEMBLE_UNIT,
            replicates="100,000 particles per point",
        ),
    ),
    secondary=("theory: h·Var/2 − ησ²h/(4S) = 0 with C = σ²H (symbolic)",),
    scales={
        "quick": {"particles": 20_000, "dt": 0.01, "points": ((0.05, 1), (0.2, 2), (1.0, 4))},
        "default": {
            "particles": 100_000,
            "dt": 0.005,
            "points": ((0.05, 1), (0.2, 2), (0.6, 4), (1.0, 4)),
        },
    },
    views=(evidence,),
    registered="abb07dd5782c",
)
