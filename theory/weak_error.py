"""Weak error of the SDE picture of SGD on a quadratic, in closed form.

L = hθ²/2 (1-D), per-example gradient noise of constant variance σ² (shift perturbations),
minibatches of S drawn with replacement: one SGD step is θ ← (1 − ηh)θ − ηξ with E ξ = 0,
E ξ² = σ²/S, so at t = kη (the discrete Lyapunov recursion, Liu, Ziyin & Ueda 2021)

    SGD:  E θ_k = a^k θ₀,   E θ_k² = a^{2k} θ₀² + (η²σ²/S)(1 − a^{2k})/(1 − a²),   a = 1 − ηh.

An SDE dθ = −κθ dt + sqrt(2D) dW, D = ησ²/(2S) (Ornstein–Uhlenbeck) has

    E θ(t) = e^{−κt} θ₀,   E θ(t)² = e^{−2κt} θ₀² + (D/κ)(1 − e^{−2κt}),

with κ = h for the first-order SDE and κ = h + ηh²/2 for the second-order stochastic
modified equation (drift −∇(L + (η/4)|∇L|²), same diffusion; Li, Tai & E, ICML 2017).

Orders in η: a^k = exp(−t(h + ηh²/2 + η²h³/3 + …)), so the mean's gap is O(η) for κ = h and
O(η²) for the modified κ. For E θ² at fixed S the noise terms differ by O(η²) and the same
orders hold. At fixed η/S they do not: the stationary variance of SGD is (D/h)/(1 − ηh/2),
of the first-order SDE D/h and of the modified equation (D/h)/(1 + ηh/2), both O(η) away —
with the same diffusion the modified equation is second order only for drift-driven
observables; matching the noise to O(η²) at fixed η/S needs D(1 + ηh) (the exact OU rate
and variance of the AR(1) recursion above).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from threefactors.errors import check_positive, require

OBSERVABLES = ("mean", "second_moment")


@dataclass(frozen=True)
class QuadraticMoments:
    """E θ and E θ² at t = kη for SGD, the first-order SDE and the modified equation."""

    sgd: tuple[float, float]
    sde: tuple[float, float]
    modified: tuple[float, float]


def _ou(rate: float, diffusion: float, start: float, time: float) -> tuple[float, float]:
    decay = np.exp(-rate * time)
    return float(decay * start), float(decay**2 * start**2 + diffusion / rate * (1 - decay**2))


def quadratic_moments(
    curvature: float, eta: float, batch_size: float, sigma: float, start: float, steps: int
) -> QuadraticMoments:
    """The closed forms of the module docstring at t = ``steps``·η (needs |1 − ηh| < 1)."""
    for name, value in (("curvature", curvature), ("lr", eta), ("batch", batch_size)):
        check_positive(name, value)
    require(int(steps) == steps and steps >= 1, "steps", steps, "need an integer ≥ 1")
    a = 1.0 - eta * curvature
    require(abs(a) < 1, "lr", eta, f"need η < 2/h = {2 / curvature:g} (SGD diverges)")
    noise = eta**2 * sigma**2 / batch_size
    second = a ** (2 * steps) * start**2 + noise * (1 - a ** (2 * steps)) / (1 - a**2)
    diffusion = eta * sigma**2 / (2 * batch_size)
    time = steps * eta
    return QuadraticMoments(
        sgd=(float(a**steps * start), float(second)),
        sde=_ou(curvature, diffusion, start, time),
        modified=_ou(curvature * (1 + eta * curvature / 2), diffusion, start, time),
    )


def quadratic_gaps(
    curvature: float,
    etas: np.ndarray,
    batch_sizes: np.ndarray,
    sigma: float,
    start: float,
    time: float,
    observable: str,
) -> tuple[np.ndarray, np.ndarray]:
    """|SGD − SDE| and |SGD − modified| of ``observable`` (``mean`` or ``second_moment``)
    at t = ``time`` (a whole number of steps of each η) for each (η, S)."""
    require(observable in OBSERVABLES, "observable", observable, f"one of {OBSERVABLES}")
    which = OBSERVABLES.index(observable)
    first, second = [], []
    for eta, batch in zip(etas, batch_sizes, strict=True):
        steps = round(time / eta)
        m = quadratic_moments(curvature, eta, batch, sigma, start, steps)
        first.append(abs(m.sgd[which] - m.sde[which]))
        second.append(abs(m.sgd[which] - m.modified[which]))
    return np.array(first), np.array(second)
