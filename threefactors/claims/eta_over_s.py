"""eta-over-s: what depends on η and S only through η/S (Three Factors §2), as three rows.

**eta-over-s-sde** (verification): the Fokker–Planck residual of the Gibbs density
exp(−2SL/(ησ²)) simplifies to 0 and the density is unchanged by (η, S) → (βη, βS) — the
SDE's stationary law is invariant by construction (symbolic, d = 1 and 2).
**eta-over-s-sgd** (verification): whether *SGD* is. True minibatch SGD (finite-sum shift
noise, with replacement) at (η, S), (2η, 2S), (4η, 4S) in the sharp well of the width/depth
double well (h = L'' = 25, ηh = 0.1, 0.2, 0.4); its stationary in-well variance against the
finite-η law Var = ησ²/(S h (2 − ηh)) (discrete Lyapunov; Liu, Ziyin, Ueda 2021), which the
SDE's ησ²/(2Sh) misses by the factor 1/(1 − ηh/2): SGD follows the finite-η law and leaves
the η/S law as ηh grows. The bias bound is the well's anharmonicity, |Var_Gibbs/(T/h) − 1|.
**eta-over-s** (reproduction): on networks, the ``rescaling`` grid — test accuracy and λ_max
at matched progress for (βη₀, βS₀), β from 1/8 to 16, each β against β = 1 by TOST paired by
seed with margins fixed here. Registered: equivalence at the β nearest 1 on each side (1/2
and 2 at the default scale) for every training-set size, all must hold. The range of β over
which equivalence holds is found by the fixed-sequence procedure walking outward from β = 1
(family-wise error ≤ α per metric, side and size); whether it grows with the training-set
size is shown descriptively.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from threefactors.claims import PILOT_SEEDS, network
from threefactors.claims.base import (
    ENSEMBLE_UNIT,
    Z_95,
    Amendment,
    ClaimSpec,
    Context,
    Evidence,
    Part,
    Settings,
    compare,
    from_test,
    intersection,
    jointly,
    plotter,
    read_jointly,
)
from threefactors.claims.landscapes import WIDTH_DEPTH_WELL

PRIMARY = "SGD in-well variance at (η,S), (2η,2S), (4η,4S) = finite-η theory"
LEAVES = "SGD in-well variance departs from the SDE's ησ²/(2Sh) at the largest ηh"
INVARIANT = "Gibbs density solves the FP equation and depends on η, S only through η/S"
ACCURACY_PART = "test_accuracy equivalent at the β nearest 1 on each side (every n_train)"
LAMBDA_PART = "lambda_max equivalent at the β nearest 1 on each side (every n_train)"
ACCURACY_MARGIN = 0.02  # test accuracy, absolute (declared before the runs)
LOG_LAMBDA_MARGIN = math.log(1.25)  # λ_max within ±25% (log scale)
ETA_H = (0.1, 0.2, 0.4)  # ηh at (η, S), (2η, 2S), (4η, 4S)


def theory(ctx: Context, s: Settings) -> list[Evidence]:
    from threefactors.theory.builtin_landscapes import double_well, two_minima_2d
    from threefactors.theory.sde import derive

    evidence = []
    for land in (double_well(**WIDTH_DEPTH_WELL), two_minima_2d()):
        derived = derive(land)
        verdict = "agrees" if derived.verified and derived.eta_over_s_only else "disagrees"
        evidence.append(
            Evidence(
                "theory",
                f"FP residual of exp(−2SL/(ησ²)), d={land.dim}",
                "0",
                str(derived.fp_residual),
                verdict,
                f"symbolic; density unchanged by (η,S)→(βη,βS): {derived.eta_over_s_only}",
            )
        )
    return evidence


def _gibbs_variance(land, centre: float, curvature: float, temperature: float) -> float:
    """Var of the Gibbs density exp(−L/T) restricted to ±10 harmonic widths of a minimum."""
    width = math.sqrt(temperature / curvature)
    x = np.linspace(centre - 10 * width, centre + 10 * width, 4001)
    loss = land.loss_at(x[:, None])
    w = np.exp(-(loss - loss.min()) / temperature)
    mean = float(np.sum(w * x) / w.sum())
    return float(np.sum(w * (x - mean) ** 2) / w.sum())


def simulate(ctx: Context, s: Settings) -> list[Evidence]:
    import sympy as sp

    from threefactors.simulate.sgd import sgd
    from threefactors.theory.builtin_landscapes import double_well
    from threefactors.theory.critical import critical_points
    from threefactors.theory.setting import SGDSetting
    from threefactors.theory.stationary import scalar_laws

    land = double_well(**WIDTH_DEPTH_WELL)
    sharp = critical_points(land).minima[0]
    centre, curvature = float(sharp.x[0]), float(sharp.hessian_eigenvalues[0])
    law = scalar_laws()["sgd_variance"]
    h, c, eta_sym, batch_sym = law.symbols
    finite_eta = sp.lambdify((h, c, eta_sym, batch_sym), law.expr)
    sigma, examples, particles = 1.0, 4096, s["particles"]
    data = {"eta_h": [], "eta": [], "batch": [], "variance": [], "stderr": [], "finite_eta": []}
    data["sde"] = None
    items = []
    for k, eta_h in enumerate(ETA_H):
        beta = 2**k
        eta = eta_h / curvature
        steps = int(40 / (eta_h * (2 - eta_h)))
        setting = SGDSetting(eta, beta, sigma, examples=examples)
        result = sgd(
            land,
            setting,
            particles=particles,
            steps=steps,
            seed=ctx.seed + k,
            start=np.array([centre]),
        )
        x = result.final[result.alive, 0]
        var = float(x.var(ddof=1))
        se = math.sqrt(max(float(np.mean((x - x.mean()) ** 4)) - var**2, 0.0) / x.size)
        predicted = float(finite_eta(curvature, sigma**2, eta, beta))
        temperature = setting.temperature
        sde = temperature / curvature
        anharmonic = abs(_gibbs_variance(land, centre, curvature, temperature) / sde - 1)
        items.append(
            compare(
                "simulate",
                f"Var θ of SGD at (η,S)=({eta:.3g},{beta}), ηh={eta_h}",
                predicted,
                var,
                se,
                bias=anharmonic * predicted,
                figure="eta_over_s.png",
                detail=f"{x.size} particles, N={examples}; the SDE says {sde:.4g} "
                f"({abs(var - sde) / se:.1f} se away); anharmonic bound {anharmonic:.2%}",
            )
        )
        for key, value in zip(data, (eta_h, eta, beta, var, se, predicted), strict=False):
            data[key].append(value)
        data["sde"] = sde
    ctx.figure("eta_over_s", data, plotter("eta_over_s"))
    return [jointly("simulate", PRIMARY, items), _departure(data), *items]


def _departure(data: dict) -> Evidence:
    """At the largest ηh, SGD's variance against the SDE's ησ²/(2Sh): verified when the
    two differ by more than 4 standard errors of SGD's variance (the η/S law is left)."""
    var, se, eta_h = data["variance"][-1], data["stderr"][-1], data["eta_h"][-1]
    sde = data["sde"]
    distance = abs(var - sde) / se
    return Evidence(
        "simulate",
        LEAVES,
        f"|Var − {sde:.4g}| > 4 se",
        var,
        "agrees" if distance > 4 else "disagrees",
        f"at ηh = {eta_h}: SGD's variance is {distance:.1f} se from the SDE's (the finite-η "
        f"law's factor 1/(1 − ηh/2) = {1 / (1 - eta_h / 2):.3f})",
        stderr=se,
        tolerance=4 * se,
        figure="eta_over_s.png",
        test="|Var_SGD − Var_SDE| > 4 se",
        effect=var - sde,
        interval=[var - sde - Z_95 * se, var - sde + Z_95 * se],
        level=0.95,
    )


def _tost_rows(rows: list[dict], metric: str, margin: float, log: bool) -> list[dict]:
    """Per (n_train, β ≠ 1): TOST of ``metric`` at β against β = 1, paired by seed."""
    from threefactors.statistics import tost

    out = []
    eta0 = min(r["lr"] for r in rows) / min(r["beta"] for r in rows)
    for n in sorted({r["n_train"] for r in rows}, key=str):
        group = [r for r in rows if r["n_train"] == n]
        base = {r["seed"]: r.get(metric) for r in group if r["beta"] == 1}
        for beta in sorted({r["beta"] for r in group} - {1}):
            at = {r["seed"]: r.get(metric) for r in group if r["beta"] == beta}
            a, b, seeds = network.aligned(at, base)
            if log:
                a, b = [math.log(v) for v in a], [math.log(v) for v in b]
            if len(seeds) < 2:
                continue
            out.append(
                {
                    "n_train": n,
                    "beta": beta,
                    "eta": eta0 * beta,
                    "seeds": seeds,
                    "test": tost(a, b, margin),
                }
            )
    return out


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    from threefactors.empirical.experiments import RESCALING_BASE

    result = network.run_grid(ctx, "rescaling", s)
    quantity = "test accuracy invariant under (βη, βS): TOST at each β"
    if not result["complete"]:
        return network.incomplete("rescaling", result, quantity)
    rows = result["rows"]
    for row in rows:
        row["beta"] = round(row["lr"] / RESCALING_BASE[0], 6)
        usable = row["reached_threshold"] and not row["diverged"]
        if not usable:
            row["test_accuracy"] = row["lambda_max"] = None
    evidence, table = [], []
    for metric, margin, log in (
        ("test_accuracy", ACCURACY_MARGIN, False),
        ("lambda_max", LOG_LAMBDA_MARGIN, True),
    ):
        for item in _tost_rows(rows, metric, margin, log):
            test = item["test"]
            table.append(
                {
                    "metric": metric,
                    **{k: v for k, v in item.items() if k != "test"},
                    **test.to_dict(),
                }
            )
            evidence.append(
                from_test(
                    "empirical",
                    f"{metric} at β={item['beta']:g} ≡ β=1 (n_train={item['n_train']})",
                    test,
                    predicted=f"|Δ| < {margin:.3g}" + (" (log)" if log else ""),
                    figure="rescaling.png",
                )
            )
    evidence = [
        _nearest(evidence, table, "test_accuracy", ACCURACY_PART),
        _nearest(evidence, table, "lambda_max", LAMBDA_PART),
        *evidence,
    ]
    breaks = _ranges(table)
    data = {
        "experiment": "rescaling",
        "rows": rows,
        "tost": table,
        "breaks": breaks,
        "base": RESCALING_BASE,
        "margins": {"test_accuracy": ACCURACY_MARGIN, "log_lambda_max": LOG_LAMBDA_MARGIN},
    }
    ctx.figure("rescaling", data, plotter("rescaling"))
    not_reached = [r for r in rows if r["test_accuracy"] is None]
    summary = Evidence(
        "empirical",
        "range of β shown equivalent to β = 1, per metric and training-set size",
        "a range that grows with n_train (descriptive)",
        breaks,
        "inconclusive",
        "descriptive, no verdict: per metric, n_train and side, the β shown equivalent by the "
        "fixed-sequence procedure walking outward from β = 1 (FWER ≤ 0.05 per side); "
        f"{len(not_reached)} runs did not reach the threshold or diverged",
    )
    return [*evidence, summary]


def _nearest(evidence: list[Evidence], table: list[dict], metric: str, quantity: str) -> Evidence:
    """The registered part: equivalence at the β nearest 1 on each side, every n_train."""
    chosen = []
    for n in sorted({t["n_train"] for t in table if t["metric"] == metric}, key=str):
        rows = [t for t in table if t["metric"] == metric and t["n_train"] == n]
        for side in ([t for t in rows if t["beta"] < 1], [t for t in rows if t["beta"] > 1]):
            if side:
                beta = min(side, key=lambda t: abs(math.log(t["beta"])))["beta"]
                chosen.append(f"{metric} at β={beta:g} ≡ β=1 (n_train={n})")
    items = [e for e in evidence if e.quantity in chosen]
    return intersection("empirical", quantity, items, f"{len(items)} TOSTs: {'; '.join(chosen)}")


def _ranges(table: list[dict]) -> dict[str, dict[str, Any]]:
    """metric|n_train → {"low": the smallest β < 1, "high": the largest β > 1 shown
    equivalent by the fixed-sequence procedure outward from β = 1 (1 when the nearest β
    fails; "not tested" when the grid has no β on that side)}."""
    from threefactors.statistics import fixed_sequence

    out: dict[str, dict[str, Any]] = {}
    for key in sorted({f"{t['metric']}|n={t['n_train']}" for t in table}):
        rows = [t for t in table if f"{t['metric']}|n={t['n_train']}" == key]
        high = sorted((t for t in rows if t["beta"] > 1), key=lambda t: t["beta"])
        low = sorted((t for t in rows if t["beta"] < 1), key=lambda t: -t["beta"])
        out[key] = {}
        for side, ordered in (("low", low), ("high", high)):
            if not ordered:
                out[key][side] = "not tested"
                continue
            shown = fixed_sequence([1.0 if t["p_claim"] is None else t["p_claim"] for t in ordered])
            out[key][side] = ordered[shown - 1]["beta"] if shown else 1
    return out


SDE_SPEC = ClaimSpec(
    id="eta-over-s-sde",
    statement="the SDE's stationary law depends on η and S only through η/S",
    source="Three Factors (arXiv 1711.04623) §2",
    command="threefactors derive --loss EXPR",
    kind="verification",
    parts=(
        Part(
            statement="the Gibbs density exp(−2SL/(ησ²)) solves the stationary Fokker–Planck "
            "equation and is unchanged by (η, S) → (βη, βS)",
            quantity=INVARIANT,
            view="theory",
            test="symbolic: the FP residual simplifies to 0 and the density is invariant, on "
            "a 1-D and a 2-D landscape (both must hold)",
            readout="sympy",
            sidedness="exact",
            alpha=None,
            unit="symbolic derivation (deterministic)",
            replicates="2 landscapes",
        ),
    ),
    secondary=(),
    scales={"quick": {}, "default": {}},
    views=(read_jointly("theory", INVARIANT, "FP residual", "", theory),),
    registered="5a34a0ff20c0",
)

SGD_SPEC = ClaimSpec(
    id="eta-over-s-sgd",
    statement="true SGD follows the finite-η law and leaves the η/S law as ηh grows",
    source="Liu, Ziyin, Ueda (arXiv 2012.03636); Three Factors §2",
    command="threefactors simulate sgd",
    kind="verification",
    parts=(
        Part(
            statement="SGD's stationary in-well variance at (η, S), (2η, 2S), (4η, 4S) equals "
            "the finite-η law ησ²/(Sh(2 − ηh))",
            quantity=PRIMARY,
            view="simulate",
            test="|Var_SGD − Var_finite-η| ≤ 4 se + anharmonic bound at ηh = 0.1, 0.2, 0.4 (all "
            "must hold)",
            readout="stationary SGD ensemble in the sharp well (h = 25)",
            sidedness="two-sided tolerance",
            alpha=None,
            margin="4 se + the well's anharmonicity |Var_Gibbs/(T/h) − 1|",
            unit=ENSEMBLE_UNIT,
            replicates="100,000 particles per point",
        ),
        Part(
            statement="at ηh = 0.4 SGD's variance departs from the SDE's η/S law",
            quantity=LEAVES,
            view="simulate",
            test="|Var_SGD − ησ²/(2Sh)| > 4 se at the largest ηh",
            readout="as above",
            sidedness="two-sided",
            alpha=None,
            unit=ENSEMBLE_UNIT,
            replicates="100,000 particles",
        ),
    ),
    secondary=(),
    scales={"quick": {"particles": 20_000}, "default": {"particles": 100_000}},
    views=(simulate,),
    registered="b0de802be434",
)

SPEC = ClaimSpec(
    id="eta-over-s",
    statement="on networks, (η, S) → (βη, βS) leaves λ_max and test accuracy unchanged over a "
    "range of β that grows with the training-set size",
    source="Three Factors (arXiv 1711.04623) §2–3",
    command="threefactors grid --experiment rescaling",
    kind="reproduction",
    parts=(
        Part(
            statement="test accuracy is unchanged at the β nearest 1 on each side",
            quantity=ACCURACY_PART,
            view="empirical",
            test="TOST paired by seed at each β (90 % t interval), all must hold "
            "(intersection–union)",
            readout="test accuracy at 95 % train accuracy",
            sidedness="equivalence",
            margin=f"±{ACCURACY_MARGIN} test accuracy: within the seed-to-seed spread of the "
            "paper's Table",
            unit=network.SEED_UNIT,
            replicates="3 seeds per β (β = 1/8 … 16 at n = 1000, 1 … 16 at n = 4000)",
        ),
        Part(
            statement="λ_max is unchanged at the β nearest 1 on each side",
            quantity=LAMBDA_PART,
            view="empirical",
            test="TOST on log λ_max paired by seed at each β, all must hold",
            readout="λ_max at 95 % train accuracy",
            sidedness="equivalence",
            margin="±log 1.25: a 25 % change, well below the 2–4× spread of λ_max over the "
            "ratio grid",
            unit=network.SEED_UNIT,
            replicates="3 seeds per β",
        ),
    ),
    secondary=(
        "the range of β shown equivalent (fixed-sequence, per metric, side and n_train): "
        "descriptive",
        "each β's TOST (shown)",
    ),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    registered="",
    paper_setting="VGG-11 on CIFAR-10, (βη₀, βS₀) with β from 1/8 to 16, 3 seeds, "
    "TOST on test accuracy (±0.02) and log λ_max (±log 1.25)",
    pilot_seeds=PILOT_SEEDS,
    replicates=network.replicates("rescaling"),
    families=("mlp",),
    amendments=(
        Amendment(
            date="2026-12-02",
            change="one row 'the stationary law depends on η and S only through η/S' (primary: "
            "SGD against the finite-η law) → three rows: two verifications (eta-over-s-sde, "
            "eta-over-s-sgd) and this reproduction on networks, with the rescaling TOSTs at "
            "the β nearest 1 registered and the breaking β by a fixed-sequence procedure",
            old_result="'agrees' from SGD vs the finite-η law (worst 0.38 of tolerance), while "
            "SGD itself is not η/S-invariant (13–45 se from the SDE) and λ_max at β = 16 "
            "(n = 4000) was 41 % lower, outside the margin; breaking β from the first "
            "unadjusted 3-seed TOST to fail",
            reason="the old label said the statement agreed where its own test showed SGD is "
            "not invariant; what agreed was the finite-η law, a different statement",
            design_hash="d9edb8c1f9b9",
        ),
        Amendment(
            date="2026-12-02",
            change="the confirming sets 2000 and 3000 became pilot seeds (they were read "
            "before issue 18's amendments); the confirming sets are 4000 and 5000; the design "
            "names its model family (mlp)",
            old_result="seed 2000: inconclusive (test accuracy at the nearest β, TOST "
            "Δ = −0.0077, 90 % CI −0.023 … +0.008; λ_max reproduced); seed 3000: reproduced "
            "(Δ = −0.0063, CI −0.019 … +0.007; λ_max Δ = −0.010, CI −0.053 … +0.033)",
            reason="a confirming set must be disjoint from every set read before the designs "
            "it confirms were fixed",
            design_hash="ed243facd6d3",
        ),
    ),
)
