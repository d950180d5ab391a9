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
    from threefactors.theory.builtin_landscapes import double_well
    from threefactors.theory.critical import critical_points
    from threefactors.theory.gibbs import (
        gibbs_crossover,
        gibbs_probabilities,
        laplace_crossover,
        laplace_probabilities,
    )

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


def check_eta_over_s(ctx: Context) -> list[Evidence]:
    """Only η/S enters the stationary law (isotropic σ²): p ∝ exp(−2S L/(ησ²)).

    Theory: the Fokker–Planck residual of the Gibbs density simplifies to 0, and the
    density is unchanged by (η, S) → (βη, βS) (Three Factors, §2). Simulation: SDE
    ensembles at (η, S) and (4η, 4S), independent seeds, have the same occupancies within
    the standard error of their difference. Networks: the rescaling grid.
    """
    from threefactors.simulate.ensemble import langevin
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
    land = double_well(**WIDTH_DEPTH_WELL)
    temperature, particles = 0.36, 20_000 if ctx.quick else 200_000
    time = 8 * _relaxation_time(land, temperature)
    runs = {}
    for k, beta in enumerate((1, 4)):
        runs[beta] = langevin(
            land,
            eta=0.72 * beta,
            batch_size=beta,
            sigma=1.0,
            particles=particles,
            time=time,
            dt=0.002,
            seed=ctx.seed + k,
        )
    se = float(np.hypot(runs[1].occupancy_stderr[1], runs[4].occupancy_stderr[1]))
    evidence.append(
        compare(
            "simulate",
            "P(wide): (η,S)=(0.72,1) vs (2.88,4)",
            runs[1].occupancy[1],
            runs[4].occupancy[1],
            se,
            detail="SDE ensembles, independent seeds; stderr of the difference",
        )
    )
    return [*evidence, *_experiment_evidence(ctx, "rescaling")]


def check_excess_loss(ctx: Context) -> list[Evidence]:
    """With curvature-shaped noise C = σ²H: E[L − L_min] = (ησ²/4S) Tr H (ICANN 2018).

    Theory: h·Var/2 per direction with Var from 2hΣ = ησ²h/S. Simulation: an SDE ensemble
    with C = σ²H on an anisotropic quadratic; the scheme's bias is exact here:
    Euler–Maruyama's stationary variance is ησ²/(S(2 − h dt)) per direction.
    """
    import sympy as sp

    from threefactors.simulate.ensemble import langevin
    from threefactors.theory.builtin_landscapes import quadratic
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
    particles, dt = (20_000, 0.01) if ctx.quick else (200_000, 0.005)
    settings = (
        [(0.05, 1), (0.2, 2), (1.0, 4)] if ctx.quick else [(0.05, 1), (0.2, 2), (0.6, 4), (1.0, 4)]
    )
    data = {
        "trace_h": eigenvalues.sum(),
        "eta": [],
        "batch": [],
        "predicted": [],
        "observed": [],
        "stderr": [],
    }
    for k, (lr, s) in enumerate(settings):
        result = langevin(
            land,
            eta=lr,
            batch_size=s,
            sigma=1.0,
            noise="hessian",
            particles=particles,
            time=12 / eigenvalues.min(),
            dt=dt,
            seed=ctx.seed + k,
        )
        losses = land.loss_at(result.final[result.alive])
        observed, se = losses.mean(), losses.std(ddof=1) / np.sqrt(losses.size)
        predicted = lr / (4 * s) * eigenvalues.sum()
        em = float(np.sum(eigenvalues * lr / (s * (2 - eigenvalues * dt))) / 2)
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
    ctx.figure("excess_loss", data, _plot("excess_loss"))
    return evidence


def check_finite_eta(ctx: Context) -> list[Evidence]:
    """Finite η breaks the SDE: Var_SGD = Var_SDE/(1 − ηh/2), so (βη, βS) is no invariance.

    Theory: the discrete Lyapunov solution Σ = (1 − ηh)²Σ + η²σ²/S against the SDE's
    2hΣ = ησ²/S (Liu, Ziyin, Ueda 2021). Simulation: true minibatch SGD on h θ²/2 with
    exactly isotropic per-example noise (shift perturbations), η/S fixed, η growing; the
    variance estimator's standard error from the sample's fourth moment. Past η = 2/h every
    particle diverges. Networks: the rescaling grid's breaking β.
    """
    import sympy as sp

    from threefactors.simulate.sgd import sgd
    from threefactors.theory.builtin_landscapes import quadratic
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
    particles = 20_000 if ctx.quick else 200_000
    etas = [0.05, 0.2, 0.4, 0.8, 1.2, 1.6]
    data = {"eta_h": [], "sgd_over_sde": [], "stderr": [], "eta_over_s": ratio}
    for k, lr in enumerate(etas):
        s = round(lr / ratio)
        steps = int(40 / (lr * curvature * (2 - lr * curvature)))
        result = sgd(
            land,
            eta=lr,
            batch_size=s,
            sigma=sigma,
            examples=4096,
            particles=particles,
            steps=steps,
            seed=ctx.seed + k,
            start=np.zeros(1),
        )
        x = result.final[result.alive, 0]
        var = x.var(ddof=1)
        se = np.sqrt(max(np.mean((x - x.mean()) ** 4) - var**2, 0.0) / x.size)
        exact = lr * sigma**2 / (s * curvature * (2 - lr * curvature))
        sde = lr * sigma**2 / (2 * s * curvature)
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
    ctx.figure("finite_eta", data, _plot("finite_eta"))
    return evidence


def check_escape(ctx: Context) -> list[Evidence]:
    """Escape from a minimum takes exp(ΔL/T) (Kramers), T = ησ²/(2S).

    Theory: Eyring–Kramers against the exact 1-D mean first-passage time (relative error
    O(T/ΔL), so it must shrink with T). Simulation: first-passage times of an SDE ensemble
    from one minimum to the other's capture radius against the exact MFPT to that point;
    dt-bias bounded by Richardson's |τ(dt) − τ(2dt)|.
    """
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
    temps = [0.2, 0.25, 0.33] if ctx.quick else [0.15, 0.2, 0.25, 0.33]
    particles, dt = (4000, 0.005) if ctx.quick else (20_000, 0.0025)
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
    ctx.figure("escape", data, _plot("escape"))
    return evidence


def check_relaxation(ctx: Context) -> list[Evidence]:
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
    temps = [0.1, 0.125, 0.15, 0.2] if ctx.quick else [0.08, 0.1, 0.125, 0.15, 0.2, 0.25]
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
    temperature, start, particles = 0.3, [-0.3], 20_000 if ctx.quick else 200_000
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
    ctx.figure("relaxation", data, _plot("relaxation"))
    return evidence


def check_sde_accuracy(ctx: Context) -> list[Evidence]:
    """The SDE is accurate to O(η) for SGD and the modified equation to O(η²).

    Theory: closed forms on hθ²/2 (discrete Lyapunov recursion against Ornstein–Uhlenbeck;
    :mod:`threefactors.theory.weak_error`): the fitted small-η orders of the gaps in E θ
    (fixed η/S) and E θ² (fixed S), and the stated limit — at fixed η/S the modified
    equation with the same diffusion is first order for E θ². Simulation: true SGD
    ensembles against Fokker–Planck SDE values (:mod:`threefactors.simulate.weak_error`):
    on the quadratic the measured gaps against the closed forms; on a double well the fitted
    orders with 4 se + 0.15 for the higher orders the fit cannot resolve.
    """
    from threefactors.simulate.weak_error import fit_slope, weak_error
    from threefactors.theory.builtin_landscapes import quadratic
    from threefactors.theory.landscape import Landscape
    from threefactors.theory.weak_error import quadratic_gaps, quadratic_moments

    evidence = []
    small = np.geomspace(0.005, 0.04, 4)
    for observable, fixed, time, orders in (
        ("mean", "η/S", 0.64, (1, 2)),
        ("second_moment", "S", 0.64, (1, 2)),
        ("second_moment", "η/S", 10.24, (1, 1)),
    ):
        batch = small / 0.02 if fixed == "η/S" else np.full(small.size, 4.0)
        gaps = quadratic_gaps(1.0, small, batch, 1.0, 1.0, time, observable)
        for label, gap, order in zip(("SDE", "modified equation"), gaps, orders, strict=True):
            slope = fit_slope(small, gap, 0 * gap)
            evidence.append(
                compare(
                    "theory",
                    f"order of the {label} gap in {observable}, fixed {fixed}, t={time}",
                    order,
                    slope.value,
                    0.0,
                    bias=0.05,
                    detail="closed form on hθ²/2 (discrete Lyapunov vs OU), η ∈ [0.005, 0.04]"
                    + (
                        "; the noise's own O(η) remains at fixed η/S"
                        if order == 1 and label != "SDE"
                        else ""
                    ),
                )
            )
    etas = np.array([0.02, 0.04, 0.08, 0.16] if ctx.quick else [0.01, 0.02, 0.04, 0.08, 0.16])
    ratio = 0.02 if ctx.quick else 0.01
    batches = np.round(etas / ratio).astype(int)
    particles = 200_000 if ctx.quick else 1_000_000
    quad = weak_error(quadratic([1.0]), etas[:3], batches[:3], time=0.64, start=[1.0],
                      sigma=0.5, particles=particles, seed=ctx.seed)  # fmt: skip
    for k, (eta, batch) in enumerate(zip(quad.etas, quad.batch_sizes, strict=True)):
        m = quadratic_moments(1.0, float(eta), int(batch), 0.5, 1.0, round(0.64 / eta))
        evidence.append(
            compare(
                "simulate",
                f"SGD − SDE gap in E θ on hθ²/2, η={eta:g}, S={batch}",
                m.sgd[0] - m.sde[0],
                quad.sgd[k] - quad.sde[k],
                quad.stderr[k],
                bias=quad.grid_error[k],
                detail=f"{particles} SGD runs vs Fokker–Planck; bias = FP grid error",
            )
        )
    well = Landscape.from_string("(x**2-1)**2/4")
    result = weak_error(well, etas, batches, time=0.64, start=[1.5], sigma=0.2,
                        particles=particles, seed=ctx.seed + 10)  # fmt: skip
    for label, slope, order in (
        ("SDE", result.slope_sde, 1),
        ("modified equation", result.slope_modified, 2),
    ):
        low, high = slope.interval()
        evidence.append(
            compare(
                "simulate",
                f"order of the {label} gap in E θ on (x²−1)²/4",
                order,
                slope.value,
                slope.stderr,
                bias=0.15,
                figure="sde_accuracy.png",
                detail=f"fitted {slope.value:.2f}, 95 % interval [{low:.2f}, {high:.2f}]; "
                f"η/S = {ratio}, σ = 0.2, θ₀ = 1.5, t = 0.64; bias 0.15 for unresolved orders",
            )
        )
    data = {
        "eta": result.etas,
        "gap_sde": result.gap_sde,
        "gap_modified": result.gap_modified,
        "stderr": result.stderr + result.grid_error,
        "slope_sde": [result.slope_sde.value, result.slope_sde.stderr],
        "slope_modified": [result.slope_modified.value, result.slope_modified.stderr],
        "quadratic_eta": small,
        "quadratic_gaps": [
            list(g) for g in quadratic_gaps(1.0, small, small / 0.02, 1.0, 1.0, 0.64, "mean")
        ],
        "eta_over_s": ratio,
    }
    ctx.figure("sde_accuracy", data, _plot("sde_accuracy"))
    return evidence


def _empirical_only(name: str) -> Callable[[Context], list[Evidence]]:
    def check(ctx: Context) -> list[Evidence]:
        return _experiment_evidence(ctx, name)

    check.__doc__ = f"The networks' evidence: the ``{name}`` experiment's grid and analysis."
    return check


def _experiment_evidence(ctx: Context, name: str) -> list[Evidence]:
    """Run (or resume) an empirical experiment's grid under OUT/runs/NAME; its evidence.

    The figure ``NAME.png`` is drawn from the tidy rows (metrics at the first epoch past the
    train-accuracy threshold), the λ_max histories and the experiment's analysis.
    """
    from threefactors.empirical.experiments import run_experiment

    def on_run(done: int, total: int, record: dict) -> None:
        ctx.log(f"  {name}: run {done}/{total}")

    result = run_experiment(
        name, quick=ctx.quick, out=ctx.out / "runs" / name, executor=ctx.executor, on_run=on_run
    )
    summary = result["summary"]
    if summary is None:
        failed = "; ".join(str(f) for f in result["failed"])[:300]
        return [Evidence("empirical", name, None, None, "not run", f"grid incomplete: {failed}")]
    histories = [
        {
            "lr": r["config"]["lr"],
            "batch": r["config"]["batch"],
            "epoch": [h["epoch"] for h in r["history"] if h.get("lambda_max") is not None],
            "lambda_max": [
                h["lambda_max"] for h in r["history"] if h.get("lambda_max") is not None
            ],
        }
        for r in result["records"]
    ]
    data = {
        "experiment": name,
        "rows": result["rows"],
        "histories": histories,
        "summary": {k: v for k, v in summary.items() if k != "evidence"},
    }
    figure = ctx.figure(name, data, _plot("experiment"))
    return [Evidence(**{**e, "figure": figure}) for e in summary["evidence"]]


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
    ClaimSpec(
        "eta-over-s",
        "the stationary law depends on η and S only through η/S",
        "Three Factors (arXiv 1711.04623) §2",
        "threefactors derive --loss EXPR; threefactors grid --experiment rescaling",
        check_eta_over_s,
    ),
    ClaimSpec(
        "excess-loss",
        "with C = σ²H the excess loss is (ησ²/4S) Tr H",
        "Three Factors, ICANN 2018 version",
        "threefactors stationary --hessian H --noise hessian",
        check_excess_loss,
    ),
    ClaimSpec(
        "finite-eta",
        "finite η breaks the SDE: Var grows as 1/(1 − ηh/2), diverging at η = 2/h",
        "Liu, Ziyin, Ueda (arXiv 2012.03636); Mandt et al. (arXiv 1704.04289)",
        "threefactors simulate sgd; threefactors stationary",
        check_finite_eta,
    ),
    ClaimSpec(
        "escape",
        "escape from a minimum takes ~exp(ΔL/T) (Eyring–Kramers)",
        "Kramers; Three Factors §3; Xie, Sato, Sugiyama (arXiv 2002.03495)",
        "threefactors minima; threefactors simulate langevin --escape-from 0",
        check_escape,
    ),
    ClaimSpec(
        "relaxation",
        "occupancy relaxes at the generator's slowest rate, the exact MFPT rate (≈ Kramers)",
        "Kramers; Bovier, Eckhoff, Gayrard, Klein (J. Eur. Math. Soc. 2004); Three Factors §3",
        "threefactors relax --loss EXPR --lr η --batch S --sigma σ --start X0",
        check_relaxation,
    ),
    ClaimSpec(
        "sde-accuracy",
        "the SDE is accurate to O(η) for SGD and the modified equation to O(η²)",
        "Li, Tai & E (ICML 2017, arXiv 1511.06251); Liu, Ziyin, Ueda (arXiv 2012.03636)",
        "threefactors derive --order 2; threefactors.simulate.weak_error.weak_error",
        check_sde_accuracy,
    ),
    *(
        ClaimSpec(
            name, statement, source, f"threefactors grid --experiment {name}", _empirical_only(name)
        )
        for name, statement, source in (
            (
                "sharpest",
                "λ_max rises to a level set by η and S, below 2/η",
                "Jastrzębski et al., ICLR 2019 (arXiv 1807.05031)",
            ),
            (
                "interpolation",
                "minima of lower η/S are sharper along the line between them",
                "Three Factors §4",
            ),
            (
                "schedules",
                "cyclic batch size ≈ cyclic LR, both above constant schedules",
                "Three Factors §4",
            ),
            (
                "memorization",
                "at equal memorization, higher η/S generalizes better",
                "Three Factors §4",
            ),
            (
                "nsgd",
                "Nudged SGD with γ < 1 ends sharper and generalizes as well or better",
                "Jastrzębski et al., ICLR 2019 (arXiv 1807.05031)",
            ),
        )
    ),
)
