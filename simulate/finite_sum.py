"""Finite-sum problems for true minibatch SGD: L(θ) plus per-example perturbations.

Every example's loss is the landscape plus a perturbation that averages to zero over the
data set, so the full-batch loss is exactly L and only the minibatch noise differs:

- ``shift``: ℓ_i(θ) = L(θ) + a_i·θ. The a_i are drawn N(0, I), centred and whitened so that
  (1/N) Σ a_i = 0 and (1/N) Σ a_i a_iᵀ = σ² I exactly (needs N > d): the per-example
  gradient covariance is C = σ² I everywhere, and the minibatch noise is exactly isotropic,
  Cov[g_S] = σ² I/S with replacement, σ² I (N − S)/(S(N − 1)) without (docs/theory.md,
  "Notation and the SGD setting").
- ``regression``: ℓ_i(θ) = L(θ) + ½(x_i·θ − y_i)² − ½ (1/N) Σ_j (x_j·θ − y_j)², x_i ~ N(0, I),
  y_i ~ N(0, σ²): the noise of least squares, state dependent,
  C(θ) = (1/N) Σ_i δ_i δ_iᵀ with δ_i = x_i(x_i·θ − y_i) − (Mθ − m), M = (1/N) Σ x xᵀ,
  m = (1/N) Σ x y; C(0) ≈ σ² I and C grows like |θ|² away from 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from threefactors.errors import check_sigma, require
from threefactors.resources import check_memory
from threefactors.simulate.rng import standard_normal

PERTURBATIONS = ("shift", "regression")


@dataclass(frozen=True)
class FiniteSum:
    """The data of one finite-sum problem (N examples in d dimensions)."""

    kind: str
    sigma: float
    inputs: np.ndarray
    targets: np.ndarray

    @property
    def examples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def second_moment(self) -> np.ndarray:
        """M = (1/N) Σ x_i x_iᵀ (regression)."""
        return self.inputs.T @ self.inputs / self.examples

    @property
    def cross_moment(self) -> np.ndarray:
        """m = (1/N) Σ x_i y_i (regression)."""
        return self.inputs.T @ self.targets / self.examples

    def deviations(self, theta: np.ndarray) -> np.ndarray:
        """δ_i(θ) = ∇ℓ_i(θ) − ∇L(θ), shape (N, d)."""
        if self.kind == "shift":
            return self.inputs
        residual = self.inputs @ np.asarray(theta, dtype=float) - self.targets
        per_example = self.inputs * residual[:, None]
        return per_example - per_example.mean(axis=0)

    def noise_covariance(self, theta: np.ndarray) -> np.ndarray:
        """C(θ) = (1/N) Σ_i δ_i δ_iᵀ, the per-example gradient covariance at θ."""
        delta = self.deviations(theta)
        return delta.T @ delta / self.examples

    def kernel_data(self, eta: float, batch_size: int, replacement: bool) -> tuple:
        """The tuple the noise snippet of :mod:`.noise_models` unpacks."""
        if self.kind == "shift":
            return (eta, self.inputs, batch_size, replacement)
        return (
            eta,
            self.inputs,
            self.targets,
            self.second_moment,
            self.cross_moment,
            batch_size,
            replacement,
        )


def make_finite_sum(kind: str, examples: int, dim: int, sigma: float, seed: int) -> FiniteSum:
    """Draw the data of a ``shift`` or ``regression`` problem (seeded, see module docstring)."""
    require(
        kind in PERTURBATIONS, "perturbation", kind, f"choose one of {', '.join(PERTURBATIONS)}"
    )
    check_sigma(sigma)
    require(
        int(examples) == examples and examples > dim,
        "examples",
        examples,
        f"need more examples than dimensions (d = {dim})",
    )
    n = int(examples)
    check_memory(8 * n * (4 * dim + 2), "examples", examples)  # draws, centred, whitened, ×σ
    draws = standard_normal(n * dim + n, seed, stream=7)
    inputs = draws[: n * dim].reshape(n, dim)
    if kind == "shift":
        centred = inputs - inputs.mean(axis=0)
        lam, vec = np.linalg.eigh(centred.T @ centred / n)
        whitened = centred @ vec @ np.diag(lam**-0.5) @ vec.T
        return FiniteSum(kind, float(sigma), sigma * whitened, np.zeros(n))
    return FiniteSum(kind, float(sigma), inputs, sigma * draws[n * dim :])
