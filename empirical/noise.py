"""Gradient noise of a network from per-example gradients.

For N examples with per-example gradients g_i = ∇ℓ_i(θ) and full gradient g = (1/N) Σ_i g_i,
the per-example gradient covariance is

    C = (1/N) Σ_i (g_i − g)(g_i − g)ᵀ,

so a minibatch gradient of S examples drawn with replacement has covariance C/S (without
replacement C/S · (N − S)/(N − 1)). We report
- ``trace_cov``    Tr C = (1/N) Σ_i |g_i − g|²,
- ``grad_norm_sq`` |g|²,
- ``noise_scale``  B_simple = Tr C / |g|² (McCandlish et al. 2018, arXiv 1812.06162, eq. 2.8:
  the batch size above which larger batches stop helping),
- ``sigma2``       σ² = Tr C / d, the isotropic noise level of the SDE
  dθ = −∇L dt + sqrt(η σ²/S) dW whose noise has the same total power (THEORY.md),
- ``top_k_fraction`` Tr(Pᵀ C P) / Tr C for orthonormal directions P (d × k), e.g. the top-k
  Hessian eigenvectors: the share of the noise in their span.
These are statistics of the examples given (population formulas, 1/N), not estimates of a
larger set's.

Per-example gradients come from ``torch.func.vmap(torch.func.grad(ℓ))`` over chunks of
examples; each chunk is centred on its own mean, and chunks are merged with Chan, Golub &
LeVeque's (1979) pairwise update, accumulated in float64,
M2 = M2_a + M2_b + |ḡ_a − ḡ_b|² n_a n_b / (n_a + n_b), so Tr C does not suffer the
cancellation of (1/N)Σ|g_i|² − |g|² when the noise is small. Each example runs through the
model alone, in the model's current mode (recorded in ``mode``): our models have no
BatchNorm, for which per-example gradients in train mode would be ill-defined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from threefactors.empirical.functional import (
    LossFn,
    example_chunks,
    flat_params,
    forward,
    mode_of,
)


@dataclass(frozen=True)
class NoiseStats:
    """Gradient-noise statistics of N examples at the model's parameters (see module doc)."""

    trace_cov: float
    grad_norm_sq: float
    noise_scale: float
    sigma2: float
    n_examples: int
    dim: int
    mode: str
    top_k_fraction: float | None = None


def per_example_gradients(
    model: nn.Module, loss_fn: LossFn, inputs: Tensor, targets: Tensor, theta: Tensor
) -> Tensor:
    """(n, d) per-example gradients ∇ℓ_i(θ), ℓ_i = loss_fn(f(x_i; θ), y_i), by vmap(grad)."""

    def example_loss(flat: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return loss_fn(forward(model, flat, x.unsqueeze(0)), y.unsqueeze(0))

    grad = torch.func.vmap(torch.func.grad(example_loss), in_dims=(None, 0, 0))
    return grad(theta, inputs, targets)


def gradient_noise(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    chunk_size: int | None = 500,
    directions: Tensor | None = None,
) -> NoiseStats:
    """Tr C, |g|², B_simple, σ² (and the share of Tr C in span(``directions``)), exactly.

    ``chunk_size`` examples' gradients are held in memory at once (chunk_size × d numbers).
    """
    theta = flat_params(model)
    basis = None
    if directions is not None:
        q, _ = torch.linalg.qr(directions.to(device=theta.device, dtype=torch.float64))
        basis = q.to(theta.dtype)
    count, mean, m2, m2_in = 0, torch.zeros_like(theta, dtype=torch.float64), 0.0, 0.0
    for s in example_chunks(int(inputs.shape[0]), chunk_size):
        grads = per_example_gradients(model, loss_fn, inputs[s], targets[s], theta)
        n = grads.shape[0]
        chunk_mean = grads.mean(dim=0, dtype=torch.float64)
        centred = grads - chunk_mean.to(grads.dtype)
        shift = chunk_mean - mean
        weight = count * n / (count + n)
        m2 += float(centred.square().sum(dtype=torch.float64)) + weight * float(shift @ shift)
        if basis is not None:
            projected_shift = shift @ basis.to(torch.float64)
            m2_in += float((centred @ basis).square().sum(dtype=torch.float64))
            m2_in += weight * float(projected_shift @ projected_shift)
        mean += shift * (n / (count + n))
        count += n
    trace_cov = m2 / count
    grad_norm_sq = float(mean @ mean)
    return NoiseStats(
        trace_cov=trace_cov,
        grad_norm_sq=grad_norm_sq,
        noise_scale=trace_cov / grad_norm_sq if grad_norm_sq > 0 else math.inf,
        sigma2=trace_cov / theta.numel(),
        n_examples=count,
        dim=theta.numel(),
        mode=mode_of(model),
        top_k_fraction=None if basis is None else m2_in / m2,
    )


def noise_fraction_in(
    directions: Tensor,
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    chunk_size: int | None = 500,
) -> float:
    """Tr(Pᵀ C P) / Tr C, P = orthonormalised ``directions`` (d, k): noise share in their span."""
    stats = gradient_noise(model, loss_fn, inputs, targets, chunk_size, directions=directions)
    return float(stats.top_k_fraction)
