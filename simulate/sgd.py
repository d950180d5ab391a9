"""True discrete SGD on a finite sum: θ ← θ − η g_S, with real minibatches, per particle.

Each particle runs its own SGD on the same data set (:mod:`.finite_sum`): at every step it
draws S example indices (with replacement, or S distinct ones without) and steps along the
mean of their gradients, g_S = ∇L + mean_{i∈B} δ_i(θ). This is the Euler–Maruyama kernel
with dt = η and the minibatch noise model, so it shares every observer with the SDE.

Where the SDE stops describing SGD (THEORY.md, "Where the continuous picture breaks"): on
a quadratic h θ²/2 with shift noise, Var θ = ησ²/(S h (2 − ηh)) exactly (with replacement),
the SDE's ησ²/(2Sh) times 1/(1 − ηh/2): η/S invariance breaks as η grows.
"""

from __future__ import annotations

import numpy as np

from threefactors.errors import check_batch, check_positive, check_sigma
from threefactors.simulate.ensemble import DEFAULT_BOUND, EnsembleResult, simulate
from threefactors.simulate.finite_sum import FiniteSum, make_finite_sum
from threefactors.simulate.noise import get_noise
from threefactors.simulate.schemes import get_scheme
from threefactors.theory.critical import CriticalPoints
from threefactors.theory.landscape import Landscape


def sgd(
    landscape: Landscape,
    *,
    eta: float,
    batch_size: int,
    sigma: float = 1.0,
    examples: int = 1000,
    perturbation: str = "shift",
    replacement: bool = True,
    particles: int = 10_000,
    steps: int,
    seed: int = 0,
    data: FiniteSum | None = None,
    start: np.ndarray | None = None,
    escape_from: int | None = None,
    escape_radius: float | None = None,
    records: int = 101,
    bins: int = 0,
    histogram_from: int | None = None,
    bound: float = DEFAULT_BOUND,
    critical: CriticalPoints | None = None,
    show_progress: bool = False,
) -> EnsembleResult:
    """``particles`` independent SGD runs of ``steps`` steps on one finite-sum problem.

    The data set (``perturbation`` ``shift`` or ``regression``, N = ``examples``, noise
    scale σ) is drawn from ``seed`` unless ``data`` is given. Times are t = kη.
    """
    check_positive("lr", eta)
    check_sigma(sigma)
    data = data or make_finite_sum(perturbation, examples, landscape.dim, sigma, seed)
    batch_size = check_batch(batch_size, data.examples)
    model = get_noise(data.kind, minibatch=True, parameter="perturbation")
    config = {
        "simulator": "sgd",
        "loss": str(landscape.loss),
        "coords": landscape.coord_names,
        "lr": eta,
        "batch": batch_size,
        "sigma": data.sigma,
        "examples": data.examples,
        "perturbation": data.kind,
        "replacement": replacement,
        "steps": steps,
        "particles": particles,
        "start": None if start is None else np.asarray(start, dtype=float),
        "escape_from": escape_from,
    }
    return simulate(
        landscape,
        model,
        get_scheme("em", model.additive),
        data.kernel_data(float(eta), batch_size, bool(replacement)),
        dt=float(eta),
        steps=steps,
        particles=particles,
        seed=seed,
        n_examples=data.examples,
        start=start,
        escape_from=escape_from,
        escape_radius=escape_radius,
        records=records,
        bins=bins,
        histogram_from=histogram_from,
        bound=bound,
        critical=critical,
        config=config,
        show_progress=show_progress,
    )
