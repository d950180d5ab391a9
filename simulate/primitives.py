"""Numba building blocks shared by every generated kernel (compiled once, file-cached).

- :func:`settle`: divergence bookkeeping after a step in which some particle left the bound.
- :func:`reached`: escape test, within the capture ball of another minimum.
- :func:`root2`: a square-root factor of a symmetric 2×2 matrix's positive part, closed form.
- :func:`root_factor`: F with F Fᵀ = H₊ for any d: Cholesky when H is positive definite,
  else the eigendecomposition H = V Λ Vᵀ, F = V max(Λ, 0)^{1/2}.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def settle(X, frozen, lo, hi, k, bound, park, diverged_at):
    """Particles lo..hi−1 with some |θ_i| > bound or a non-finite θ_i: the live ones are marked
    diverged at step k and their position kept in ``frozen``; every such particle is parked at
    ``park`` (a minimum), so that it stays finite and never triggers the check again.
    Diverged particles keep moving from there, but no observer ever reads them."""
    for p in range(lo, hi):
        inside = True
        for i in range(X.shape[1]):
            inside = inside and abs(X[p, i]) <= bound
        if not inside:
            if diverged_at[p] < 0:
                diverged_at[p] = k
                frozen[p] = X[p]
            X[p] = park


@njit(cache=True)
def reached(X, p, minima, escape_from, radius2):
    """True when X[p] lies within sqrt(radius2) of a minimum other than ``escape_from``."""
    for j in range(minima.shape[0]):
        if j != escape_from:
            d2 = 0.0
            for i in range(X.shape[1]):
                e = X[p, i] - minima[j, i]
                d2 += e * e
            if d2 <= radius2:
                return True
    return False


@njit(cache=True)
def root2(a, b, c, z1, z2):
    """F ξ for ξ = (z1, z2) ~ N(0, I) and F Fᵀ = H₊, H = [[a, b], [b, c]].

    Eigenvalues λ± = m ± r, m = (a + c)/2, r = sqrt(((a − c)/2)² + b²); eigenvector of λ₊
    u ∝ (r + (a − c)/2, b) when a ≥ c, else ∝ (b, r − (a − c)/2) (the better-conditioned
    form; u = (1, 0) when r = 0); the other is (−u₂, u₁). F = [u sqrt(λ₊⁺), u⊥ sqrt(λ₋⁺)].
    """
    half = 0.5 * (a - c)
    r = math.sqrt(half * half + b * b)
    m = 0.5 * (a + c)
    if r == 0.0:
        u1, u2 = 1.0, 0.0
    else:
        if half >= 0.0:
            u1, u2 = r + half, b
        else:
            u1, u2 = b, r - half
        norm = 1.0 / math.sqrt(u1 * u1 + u2 * u2)
        u1 *= norm
        u2 *= norm
    w1 = math.sqrt(max(m + r, 0.0)) * z1
    w2 = math.sqrt(max(m - r, 0.0)) * z2
    return u1 * w1 - u2 * w2, u2 * w1 + u1 * w2


@njit(cache=True)
def root_factor(H, F):
    """Write F with F Fᵀ = H₊ into F (d×d); H is overwritten.

    Cholesky (Golub & Van Loan §4.2) while every pivot is positive: F lower triangular,
    F Fᵀ = H. A non-positive pivot means H is not positive definite: then eigh,
    F = V diag(sqrt(max(λ, 0))). A non-finite H (a particle about to diverge) gives F = 0.
    """
    d = H.shape[0]
    for i in range(d):
        for j in range(d):
            if not math.isfinite(H[i, j]):
                F[:, :] = 0.0
                return
    F[:, :] = 0.0
    positive = True
    for j in range(d):
        s = H[j, j]
        for k in range(j):
            s -= F[j, k] * F[j, k]
        if not s > 0.0:
            positive = False
            break
        pivot = math.sqrt(s)
        F[j, j] = pivot
        for i in range(j + 1, d):
            t = H[i, j]
            for k in range(j):
                t -= F[i, k] * F[j, k]
            F[i, j] = t / pivot
    if positive:
        return
    lam, V = np.linalg.eigh(H)
    for j in range(d):
        scale = math.sqrt(max(lam[j], 0.0))
        for i in range(d):
            F[i, j] = V[i, j] * scale
