"""True discrete SGD on a finite sum: θ ← θ − η g_S, with real minibatches, per particle.

Each particle runs its own SGD on the same data set (:mod:`.finite_sum`): at every step it
draws S example indices (with replacement, or S distinct ones without) and steps along the
mean of their gradients, g_S = ∇L + mean_{i∈B} δ_i(θ). This is the Euler–Maruyama kernel
with dt = η and the minibatch noise model, so it shares every observer with the SDE.

Where the SDE stops describing SGD (docs/theory.md, "Where the SDE breaks"; Liu, Ziyin,
Ueda, arXiv 2012.03636): on a quadratic h θ²/2 with shift noise, Var θ = ησ²/(S h (2 − ηh))
exactly (with replacement), the SDE's ησ²/(2Sh) times 1/(1 − ηh/2): η/S invariance breaks
as η grows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from threefactors.errors import require
from threefactors.simulate.ensemble import EnsembleResult, plan, simulate
from threefactors.simulate.finite_sum import FiniteSum, make_finite_sum
from threefactors.simulate.noise_models import get_noise
from threefactors.simulate.observers import Observe, observe_from
from threefactors.simulate.schemes import get_scheme
from threefactors.theory.critical import CriticalPoints
from threefactors.theory.landscape import Landscape
from threefactors.theory.setting import SGDSetting, setting_from


def sgd(
    landscape: Landscape,
    setting: SGDSetting | None = None,
    *,
    eta: float | None = None,
    batch_size: int | None = None,
    sigma: float | None = None,
    examples: int | None = None,
    replacement: bool | None = None,
    perturbation: str = "shift",
    particles: int = 10_000,
    steps: int,
    seed: int = 0,
    data: FiniteSum | None = None,
    start: np.ndarray | None = None,
    observe: Observe | None = None,
    critical: CriticalPoints | None = None,
    show_progress: bool = False,
    **observe_keywords: Any,
) -> EnsembleResult:
    """``particles`` independent SGD runs of ``steps`` steps on one finite-sum problem.

    ``setting`` (:class:`~threefactors.theory.setting.SGDSetting`; or the shortcuts ``eta``,
    ``batch_size``, ``sigma``, ``examples``, ``replacement``) gives η, S, σ, N and how
    minibatches are drawn; N defaults to 1000. The data set (``perturbation`` ``shift`` or
    ``regression``, noise scale σ) is drawn from ``seed`` unless ``data`` is given (then N
    is its size). Times are t = kη. ``observe`` / its keyword shortcuts: as in
    :func:`.ensemble.langevin`.
    """
    if setting is None and data is not None:
        examples = data.examples if examples is None else examples
    if setting is None and examples is None:
        examples = 1000
    setting = setting_from(setting, eta, batch_size, sigma, examples, replacement)
    require(setting.examples is not None, "examples", None, "true SGD needs a finite number N")
    observe = observe_from(observe, observe_keywords)
    data = data or make_finite_sum(
        perturbation, setting.examples, landscape.dim, setting.sigma, seed
    )
    require(
        data.examples == setting.examples,
        "examples",
        setting.examples,
        f"the data set has {data.examples} examples",
    )
    model = get_noise(data.kind, minibatch=True, parameter="perturbation")
    escape = observe.escape
    config = {
        "simulator": "sgd",
        "loss": str(landscape.loss),
        "coords": landscape.coord_names,
        **setting.record(),
        "sigma": data.sigma,
        "perturbation": data.kind,
        "steps": steps,
        "particles": particles,
        "start": None if start is None else np.asarray(start, dtype=float),
        "escape_from": None if escape is None else escape.minimum,
    }
    planned = plan(
        landscape,
        model,
        get_scheme("em", model.additive),
        data.kernel_data(setting.eta, setting.batch_size, setting.replacement),
        dt=setting.eta,
        steps=steps,
        particles=particles,
        seed=seed,
        n_examples=data.examples,
        start=start,
        observe=observe,
        critical=critical,
        config=config,
    )
    return simulate(planned, show_progress)
