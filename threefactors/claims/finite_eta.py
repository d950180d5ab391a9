"""finite-eta: finite η breaks the SDE: Var grows as 1/(1 − ηh/2), diverging at η = 2/h
(Liu, Ziyin, Ueda, arXiv 2012.03636; Mandt et al., arXiv 1704.04289).

Theory: the discrete Lyapunov solution Σ = (1 − ηh)²Σ + η²σ²/S against the SDE's
2hΣ = ησ²/S (Liu, Ziyin, Ueda 2021). Simulation: true minibatch SGD on h θ²/2 with
exactly isotropic per-example noise (shift perturbations), η/S fixed, η growing; the
variance estimator's standard error from the sample's fourth moment. Past η = 2/h every
particle diverges.
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

PRIMARY_PREFIX = "Var θ of SGD at"
PRIMARY = "Var θ of SGD = ησ²/(Sh(2 − ηh)) at every η"


def _items(ctx: Context, config: Settings) -> list[Evidence]:
    """The evidence items the module docstring describes."""
    import sympy as sp

    from threefactors.simulate.sgd import sgd
    from threefactors.theory.builtin_landscapes import quadratic
    from threefactors.theory.setting import SGDSetting
    from threefactors.theory.stationary import scalar_laws

    laws = scalar_laws()
    h, _, eta, _ = laws["sgd_variance"].symbols
    residual = sp.simplify(laws["ratio"].expr - 1 / (1 - eta * h / 2))
    evidence = [
        Evidence(
            "theory",
            "Var_SGD/Var_SDE − 1/(1 − ηh/2)",
            "0",
            str(residual),
            "agrees" if residual == 0 else "disagrees",
            "symbolic, discrete Lyapunov",
        )
    ]
    curvature, ratio, sigma = 1.0, 0.05, 1.0
    land = quadratic([curvature])
    particles = config["particles"]
    etas = [0.05, 0.2, 0.4, 0.8, 1.2, 1.6]
    data = {"eta_h": [], "sgd_over_sde": [], "stderr": [], "eta_over_s": ratio}
    for k, lr in enumerate(etas):
        setting = SGDSetting(lr, round(lr / ratio), sigma, examples=4096)
        s = setting.batch_size
        steps = int(40 / (lr * curvature * (2 - lr * curvature)))
        result = sgd(
            land,
            setting,
            particles=particles,
            steps=steps,
            seed=ctx.seed + k,
            start=np.zeros(1),
        )
        x = result.final[result.alive, 0]
        var = x.var(ddof=1)
        se = np.sqrt(max(np.mean((x - x.mean()) ** 4) - var**2, 0.0) / x.size)
        sde = setting.temperature / curvature  # T/h = ησ²/(2Sh)
        exact = sde / (1 - lr * curvature / 2)
        evidence.append(
            compare(
                "simulate",
                f"Var θ of SGD at η={lr}, S={s}",
                exact,
                var,
                se,
                figure="finite_eta.png",
                detail=f"exact discrete law; the SDE says {sde:.4g} "
                f"({abs(var - sde) / se:.1f} se away)",
            )
        )
        data["eta_h"].append(lr * curvature)
        data["sgd_over_sde"].append(var / sde)
        data["stderr"].append(se / sde)
    beyond = sgd(
        land,
        eta=2.1 / curvature,
        batch_size=42,
        sigma=sigma,
        examples=4096,
        particles=1000,
        steps=2000,
        seed=ctx.seed,
        start=np.zeros(1),
    )
    evidence.append(
        compare(
            "simulate",
            "fraction diverged at η = 2.1/h",
            1.0,
            beyond.diverged / 1000,
            0.0,
            detail=f"first divergence at step {beyond.first_divergence_step}",
        )
    )
    ctx.figure("finite_eta", data, plotter("finite_eta"))
    return evidence


#: The items, led by the primary ones read jointly as the primary test.
evidence = read_jointly("simulate", PRIMARY, PRIMARY_PREFIX, "finite_eta.png", _items)


SPEC = ClaimSpec(
    id="finite-eta",
    statement="finite η breaks the SDE: Var grows as 1/(1 − ηh/2), diverging at η = 2/h",
    source="Liu, Ziyin, Ueda (arXiv 2012.03636); Mandt et al. (arXiv 1704.04289)",
    command="threefactors simulate sgd; threefactors stationary",
    kind="verification",
    parts=(
        Part(
            statement="true SGD's stationary variance equals the discrete Lyapunov law "
            "ησ²/(Sh(2 − ηh)) at every η (η/S fixed)",
            quantity=PRIMARY,
            view="simulate",
            test="|Var_SGD − ησ²/(Sh(2 − ηh))| ≤ 4 se at every η (all must hold)",
            readout="stationary SGD ensemble on a quadratic",
            sidedness="two-sided tolerance",
            alpha=None,
            margin="4 se of the ensemble variance (exact law: no bias term)",
            unit=ENSEMBLE_UNIT,
            replicates="200,000 particles per η",
        ),
    ),
    secondary=(
        "theory: Var_SGD/Var_SDE − 1/(1 − ηh/2) = 0 (symbolic)",
        "simulate: every particle diverges at η = 2.1/h",
    ),
    scales={"quick": {"particles": 20_000}, "default": {"particles": 200_000}},
    views=(evidence,),
    registered="aa5858f54f8c",
)
