"""Top Hessian eigenpairs: Lanczos with full reorthogonalisation, and the power baseline.

Lanczos (Golub & Van Loan, Matrix Computations, 4th ed., §10.1): from a random unit q_1,

    w = H q_j − α_j q_j − β_{j−1} q_{j−1},   α_j = q_jᵀ H q_j,   β_j = |w|,   q_{j+1} = w/β_j,

builds an orthonormal basis Q_m of the Krylov space K_m(H, q_1) with Q_mᵀ H Q_m = T_m
tridiagonal (α on the diagonal, β off it). The eigenvalues θ_i of T_m (Ritz values)
approach the extreme eigenvalues of H after m ≪ d products; the Ritz vectors Q_m s_i
approach the eigenvectors, with residual |H u_i − θ_i u_i| = β_m |e_mᵀ s_i| (§10.1.4), which
we report. Full reorthogonalisation (w ← w − Q Qᵀ w, applied twice: "twice is enough",
Giraud et al. 2005) keeps Q orthonormal in floating point, so no spurious copies of
converged eigenvalues appear. The basis and the tridiagonal are kept in float64 whatever the
operator's dtype. If β_j vanishes (an invariant subspace), Lanczos restarts from a random
vector orthogonal to Q (β_j = 0 in T), so degenerate spectra are handled.

Power iteration with deflation (the PyHessian method, Yao et al. 2020, arXiv 1912.07145,
``pyhessian/hessian.py::eigenvalues``): for the i-th eigenpair, iterate
v ← H v⊥/|H v⊥| where v⊥ is v orthonormalised against the i−1 vectors already found, with
λ = v⊥ᵀ H v⊥, stopping when |λ − λ_prev|/(|λ_prev| + 1e-6) < tol. It converges at rate
|λ_{i+1}/λ_i| per product (to the eigenvalue of largest modulus in the deflated space), while
Lanczos converges at a Chebyshev rate; :func:`lanczos_vs_power` measures the difference.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from threefactors.empirical.linear_operator import LinearOperator
from threefactors.errors import require

_BREAKDOWN = 1e-12  # β_j below this × max(|α|, β) seen: an invariant subspace, restart


@dataclass(frozen=True)
class Eigenpairs:
    """k eigenpairs, eigenvalues descending (algebraic), eigenvectors as orthonormal columns.

    ``residuals[i]`` ≈ |H u_i − λ_i u_i|, which bounds the distance of λ_i to the spectrum
    (Lanczos: β_m |e_mᵀ s_i|, floored at the products' rounding; power iteration: measured at
    its last product); ``n_matvecs`` = Hessian–vector products this computation used.
    """

    eigenvalues: Tensor  # (k,) float64
    eigenvectors: Tensor  # (dim, k), the operator's dtype
    n_matvecs: int
    residuals: Tensor  # (k,) float64


def _random_unit(dim: int, generator: torch.Generator, device: torch.device) -> Tensor:
    v = torch.randn(dim, generator=generator, dtype=torch.float64)
    return (v / v.norm()).to(device)


def _orthogonalise(w: Tensor, basis: Tensor) -> Tensor:
    """w − Q Qᵀ w, twice (classical Gram–Schmidt with reorthogonalisation)."""
    for _ in range(2):
        w = w - basis.T @ (basis @ w)
    return w


def _lanczos_steps(op: LinearOperator, steps: int, seed: int) -> Iterator[tuple]:
    """Run Lanczos; after step j yield (Q_j, α_1..α_j, β_1..β_j) (float64)."""
    generator = torch.Generator().manual_seed(seed)
    basis = torch.zeros(steps, op.dim, dtype=torch.float64, device=op.device)
    alphas: list[float] = []
    betas: list[float] = []
    q = _random_unit(op.dim, generator, op.device)
    scale = 0.0
    for j in range(steps):
        basis[j] = q
        w = op.matvec(q.to(op.dtype)).to(torch.float64)
        alpha = float(w @ q)
        w = _orthogonalise(w, basis[: j + 1])
        beta = float(w.norm())
        alphas.append(alpha)
        betas.append(beta)
        scale = max(scale, abs(alpha), beta)
        yield basis[: j + 1], alphas, betas
        if j + 1 == steps:
            return
        if beta <= _BREAKDOWN * scale:  # invariant subspace: restart
            betas[-1] = 0.0
            w = _orthogonalise(_random_unit(op.dim, generator, op.device), basis[: j + 1])
            beta = float(w.norm())
        q = w / beta


def tridiagonal(op: LinearOperator, steps: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """α_1..α_m and β_1..β_{m−1} of T_m after m = ``steps`` Lanczos steps (float64, CPU).

    The start q_1 is a seeded Gaussian vector normalised to unit length (uniform on the
    sphere, so E[q_1 q_1ᵀ] = I/d). A restart after an invariant subspace leaves β = 0 in T:
    T is then block diagonal and its first block alone carries q_1's spectral measure.
    ``steps`` is capped at the dimension. Costs ``steps`` products.
    """
    require(int(steps) == steps and steps >= 1, "steps", steps, "need an integer ≥ 1")
    *_, (_, alphas, betas) = _lanczos_steps(op, min(int(steps), op.dim), seed)
    return (
        torch.tensor(alphas, dtype=torch.float64),
        torch.tensor(betas[: len(alphas) - 1], dtype=torch.float64),
    )


def _ritz(basis: Tensor, alphas: list[float], betas: list[float], k: int, dtype) -> Eigenpairs:
    """Top-k Ritz pairs of T_m, the residuals β_m |s_{m,i}|, and the Ritz vectors Q_m s_i.

    The residual formula assumes exact products; it is floored at ε_dtype · max |θ|, the
    rounding of one product in the operator's dtype, below which it means nothing.
    """
    m = len(alphas)
    off = torch.tensor(betas[: m - 1], dtype=torch.float64)
    tri = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    tri += torch.diag(off, 1) + torch.diag(off, -1)
    values, vectors = torch.linalg.eigh(tri)
    rounding = torch.finfo(dtype).eps * float(values.abs().max())  # the products' own error
    top = torch.arange(m - 1, m - 1 - k, -1)
    s = vectors[:, top]
    return Eigenpairs(
        eigenvalues=values[top],
        eigenvectors=(basis.T @ s.to(basis.device)).to(dtype),
        n_matvecs=m,
        residuals=(betas[m - 1] * s[m - 1]).abs().clamp(min=rounding),
    )


def _check(op: LinearOperator, k: int, steps: int) -> None:
    require(int(k) == k and k >= 1, "k", k, "need an integer ≥ 1")
    require(k <= op.dim, "k", k, f"at most the dimension {op.dim}")
    require(k <= steps, "steps", steps, f"need at least k={k} Lanczos steps")


def lanczos(op: LinearOperator, k: int = 5, steps: int = 25, seed: int = 0) -> Eigenpairs:
    """The k algebraically largest eigenpairs of ``op`` from ``steps`` Lanczos steps.

    ``steps`` is capped at the dimension (where Lanczos is exact). Costs ``steps`` products;
    check convergence with ``residuals`` (|H u − λ u|): an eigenvalue is accurate to about
    residual² / gap (Golub & Van Loan §10.1.5).
    """
    _check(op, k, steps)
    steps = min(int(steps), op.dim)
    *_, final = _lanczos_steps(op, steps, seed)
    return _ritz(*final, k, op.dtype)


def _orthonormalise(v: Tensor, found: list[Tensor]) -> Tensor:
    for u in found:
        v = v - (u @ v) * u
    return v / v.norm()


def power_iteration(
    op: LinearOperator, k: int = 5, tol: float = 1e-3, max_iter: int = 100, seed: int = 0
) -> Eigenpairs:
    """k eigenpairs by power iteration with deflation, exactly as PyHessian runs it.

    Each pair: at most ``max_iter`` products, stopping once the relative change of the
    Rayleigh quotient is below ``tol``. Finds the eigenvalues of largest modulus (equal to
    the algebraically largest when the top of the spectrum is positive and dominant, as for
    trained networks); returned sorted descending.
    """
    _check(op, k, k)
    generator = torch.Generator().manual_seed(seed)
    start = op.n_matvecs
    found: list[Tensor] = []
    values: list[float] = []
    residuals: list[float] = []
    for _ in range(k):
        v = _random_unit(op.dim, generator, op.device)
        previous = None
        for _ in range(max_iter):
            v = _orthonormalise(v, found)
            hv = op.matvec(v.to(op.dtype)).to(torch.float64)
            value = float(v @ hv)
            residual = float((hv - value * v).norm())
            v = hv / hv.norm()
            if previous is not None and abs(value - previous) / (abs(previous) + 1e-6) < tol:
                break
            previous = value
        found.append(_orthonormalise(v, found))
        values.append(value)
        residuals.append(residual)
    order = sorted(range(k), key=lambda i: -values[i])
    return Eigenpairs(
        eigenvalues=torch.tensor([values[i] for i in order], dtype=torch.float64),
        eigenvectors=torch.stack([found[i] for i in order], dim=1).to(op.dtype),
        n_matvecs=op.n_matvecs - start,
        residuals=torch.tensor([residuals[i] for i in order], dtype=torch.float64),
    )


def _max_rel_error(values: Tensor, reference: Tensor) -> float:
    return float(((values - reference).abs() / reference.abs()).max())


def lanczos_vs_power(
    op: LinearOperator,
    k: int = 5,
    rel_tol: float = 1e-3,
    reference_steps: int = 100,
    max_iter: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Hessian–vector products (and seconds) Lanczos and power iteration need for top-k.

    Reference: Lanczos with ``reference_steps`` steps from another start vector (seed + 1);
    its residuals are reported. Accuracy = max_i |λ_i − λ_i^ref| / |λ_i^ref| over the top k.
    Lanczos: the fewest steps m whose top-k Ritz values reach ``rel_tol`` (one run, stopped
    there). Power iteration (PyHessian): its stopping tolerance tol is tightened
    (rel_tol, rel_tol/10, …, 1e-9) until its eigenvalues reach ``rel_tol``; the first run that
    does is timed and counted, and every attempt is listed. The sweep gives up (``converged``
    false, the ratio then a lower bound) when tightening stops reducing the error: pairs
    capped by ``max_iter``, or deflation locked onto an eigenvalue of larger modulus outside
    the algebraic top k. ``matvec_ratio`` = power /
    Lanczos products (target ≥ 3 for k = 5).
    """
    _check(op, k, k)
    reference = lanczos(op, k, steps=max(reference_steps, k), seed=seed + 1)
    ref_values = reference.eigenvalues

    start, clock = op.n_matvecs, time.perf_counter()
    lanczos_error, steps = float("inf"), 0
    for state in _lanczos_steps(op, min(reference_steps, op.dim), seed):
        if len(state[1]) >= k:
            ritz = _ritz(*state, k, op.dtype)
            lanczos_error = _max_rel_error(ritz.eigenvalues, ref_values)
            if lanczos_error <= rel_tol:
                break
    lanczos_seconds = time.perf_counter() - clock
    steps = op.n_matvecs - start

    attempts = []
    tol = rel_tol
    while tol >= 1e-9:
        clock = time.perf_counter()
        power = power_iteration(op, k, tol=tol, max_iter=max_iter, seed=seed)
        seconds = time.perf_counter() - clock
        error = _max_rel_error(power.eigenvalues, ref_values)
        attempts.append(
            {"tol": tol, "n_matvecs": power.n_matvecs, "seconds": seconds, "max_rel_error": error}
        )
        if error <= rel_tol or (len(attempts) > 1 and error >= attempts[-2]["max_rel_error"]):
            break  # reached, or a tighter tol no longer helps (max_iter, or a wrong eigenvalue)
        tol /= 10
    chosen = attempts[-1]
    return {
        "k": k,
        "rel_tol": rel_tol,
        "dim": op.dim,
        "reference": {
            "eigenvalues": ref_values.tolist(),
            "residuals": reference.residuals.tolist(),
            "n_matvecs": reference.n_matvecs,
        },
        "lanczos": {
            "n_matvecs": steps,
            "seconds": lanczos_seconds,
            "max_rel_error": lanczos_error,
            "converged": lanczos_error <= rel_tol,
        },
        "power": {
            "n_matvecs": chosen["n_matvecs"],
            "seconds": chosen["seconds"],
            "max_rel_error": chosen["max_rel_error"],
            "converged": chosen["max_rel_error"] <= rel_tol,
            "tol": chosen["tol"],
            "attempts": attempts,
        },
        "matvec_ratio": chosen["n_matvecs"] / steps,
        "time_ratio": chosen["seconds"] / lanczos_seconds,
    }
