"""Quadratic basins: stationary covariance of the SDE and of discrete SGD, stability bounds.

L = ½ θᵀHθ, gradient noise covariance C (per-example), batch S, Cov[g_S] = C/S.
- SDE (continuous Lyapunov; Mandt, Hoffman, Blei, arXiv 1704.04289): HΣ + ΣH = (η/S) C.
- Discrete SGD θ ← (I − ηH)θ − η ξ, Cov ξ = C/S (discrete Lyapunov; Liu, Ziyin, Ueda,
  arXiv 2012.03636): Σ = (I − ηH) Σ (I − ηH)ᵀ + (η²/S) C, i.e. HΣ + ΣH − ηHΣH = (η/S) C.
  In an eigendirection with C diagonal there: Σ_ii = η c_i / (S h_i (2 − η h_i)), the SDE's
  η c_i/(2 S h_i) times 1/(1 − η h_i/2) — a function of η alone, so (η, S) → (βη, βS) is no
  longer an invariance; finite only for η h_i < 2 (linear stability η < 2/λ_max).
- Excess loss E[L − L_min] = ½ Tr(HΣ); with C = σ²H the SDE gives (ησ²/4S) Tr H.
- Mean-square stability with per-example curvatures of mean a, variance s² (Wu, Ma, E,
  NeurIPS 2018): E x²_{k+1} = E(1 − η a_S)² E x²_k, Var a_S = s² f, f = 1/S or
  (N − S)/(S(N − 1)): stable iff (1 − ηa)² + η² s² f ≤ 1, i.e. η ≤ 2a/(a² + s² f).
The scalar laws are derived with sympy by solving the fixed-point equations (below).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp
from scipy.linalg import solve_continuous_lyapunov, solve_discrete_lyapunov

from threefactors.errors import require
from threefactors.theory.formula import BATCH, ETA, SIGMA, Formula
from threefactors.theory.sde import NOISE_MODELS
from threefactors.theory.setting import SGDSetting, noise_factor, setting_from

H, C_NOISE, A_MEAN, S_SPREAD, F_BATCH = sp.symbols("h c a s f", positive=True)


@cache
def scalar_laws() -> dict[str, Formula]:
    """Derived 1-D laws (h: curvature, c: per-example noise variance in that direction).

    ``sde_variance``: solve 2hΣ = ηc/S; ``sgd_variance``: solve Σ = (1 − ηh)²Σ + η²c/S;
    ``ratio``; ``linear_bound``: the η where |1 − ηh| = 1; ``mean_square_bound``: the
    positive root of (1 − ηa)² + η²s²f = 1.
    """
    var = sp.Symbol("Sigma")
    sde = sp.solve(sp.Eq(2 * H * var, ETA * C_NOISE / BATCH), var)[0]
    sgd = sp.solve(sp.Eq(var, (1 - ETA * H) ** 2 * var + ETA**2 * C_NOISE / BATCH), var)[0]
    linear = next(r for r in sp.solve(sp.Eq((1 - ETA * H) ** 2, 1), ETA) if r != 0)
    roots = sp.solve(sp.Eq((1 - ETA * A_MEAN) ** 2 + ETA**2 * S_SPREAD**2 * F_BATCH, 1), ETA)
    mean_square = next(r for r in roots if r != 0)
    return {
        "sde_variance": Formula(sp.simplify(sde), (H, C_NOISE, ETA, BATCH)),
        "sgd_variance": Formula(sp.factor(sgd), (H, C_NOISE, ETA, BATCH)),
        "ratio": Formula(sp.simplify(sgd / sde), (H, ETA)),
        "linear_bound": Formula(linear, (H,)),
        "mean_square_bound": Formula(sp.simplify(mean_square), (A_MEAN, S_SPREAD, F_BATCH)),
        "sde_excess_loss_hessian_noise": Formula(
            sp.simplify(H * sde.subs(C_NOISE, SIGMA**2 * H) / 2), (H, ETA, BATCH, SIGMA)
        ),
    }


def sde_covariance(
    hessian: np.ndarray, noise: np.ndarray, eta: float, batch_size: int
) -> np.ndarray:
    """Σ solving HΣ + ΣH = (η/S) C (scipy's Bartels–Stewart)."""
    return solve_continuous_lyapunov(hessian, eta / batch_size * noise)


def sgd_covariance(
    hessian: np.ndarray, noise: np.ndarray, eta: float, batch_size: int
) -> np.ndarray:
    """Σ solving Σ = (I − ηH) Σ (I − ηH)ᵀ + (η²/S) C (exact for discrete SGD)."""
    a = np.eye(len(hessian)) - eta * hessian
    return solve_discrete_lyapunov(a, eta**2 / batch_size * noise)


def mean_square_bound(
    mean_curvature: float, curvature_std: float, batch_size: int, examples: int | None = None
) -> float:
    """Largest η with (1 − ηa)² + η² s² f ≤ 1 (Wu, Ma, E), f = 1/S or (N−S)/(S(N−1))."""
    f = noise_factor(batch_size, examples, replacement=False)
    return float(scalar_laws()["mean_square_bound"].callable(mean_curvature, curvature_std, f))


@dataclass(frozen=True)
class QuadraticStationary:
    """Stationary law of SGD and of its SDE in a quadratic basin (diagonal H, C)."""

    eigenvalues: np.ndarray
    setting: SGDSetting
    noise: str
    stable: bool
    stability_bound: float
    sde_covariance_diag: np.ndarray
    sgd_covariance_diag: np.ndarray | None
    ratio: np.ndarray | None
    sde_excess_loss: float
    sgd_excess_loss: float | None


def quadratic_stationary(
    eigenvalues: Sequence[float],
    setting: SGDSetting | None = None,
    *,
    noise: str = "isotropic",
    eta: float | None = None,
    batch_size: int | None = None,
    sigma: float | None = None,
) -> QuadraticStationary:
    """Both stationary covariances for H = diag(h), C = σ²I or σ²H (Cov[g_S] = C/S); past
    η ≥ 2/λ_max the SGD law does not exist: ``stable`` False and no SGD covariance.

    Give an :class:`SGDSetting` or the shortcuts ``eta``, ``batch_size``, ``sigma``.
    """
    setting = setting_from(setting, eta, batch_size, sigma)
    eta, batch_size, sigma = setting.eta, setting.batch_size, setting.sigma
    h = np.asarray(eigenvalues, dtype=float)
    require(
        h.ndim == 1 and h.size >= 1 and np.all(h > 0),
        "hessian",
        h.tolist(),
        "eigenvalues must be > 0",
    )
    require(noise in NOISE_MODELS, "noise", noise, f"one of {', '.join(NOISE_MODELS)}")
    c = sigma**2 * (np.ones_like(h) if noise == "isotropic" else h)
    laws = scalar_laws()
    with np.errstate(all="ignore"):  # overflow is refused just below
        sde = np.asarray(laws["sde_variance"].callable(h, c, eta, batch_size), dtype=float)
        bound = float(np.min(laws["linear_bound"].callable(h)))
    require(
        bool(np.all(np.isfinite(sde))) and np.isfinite(bound),
        "hessian",
        h.tolist(),
        "an eigenvalue so small that the SDE covariance or the bound 2/h overflows a double",
    )
    stable = eta < bound
    sgd = laws["sgd_variance"].callable(h, c, eta, batch_size) if stable else None
    return QuadraticStationary(
        eigenvalues=h,
        setting=setting,
        noise=noise,
        stable=stable,
        stability_bound=bound,
        sde_covariance_diag=sde,
        sgd_covariance_diag=None if sgd is None else np.asarray(sgd, dtype=float),
        ratio=None if sgd is None else np.asarray(laws["ratio"].callable(h, eta), dtype=float),
        sde_excess_loss=float(0.5 * np.sum(h * sde)),
        sgd_excess_loss=None if sgd is None else float(0.5 * np.sum(h * sgd)),
    )
