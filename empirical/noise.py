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
  dθ = −∇L dt + sqrt(η σ²/S) dW whose noise has the same total power (docs/theory.md,
  "The SDE of SGD" and "Real networks"),
- ``top_k_fraction`` Tr(Pᵀ C P) / Tr C for orthonormal directions P (d × k), e.g. the top-k
  Hessian eigenvectors: the share of the noise in their span.
These are statistics of the examples given (population formulas, 1/N), not estimates of a
larger set's.

Per-example gradients come from ``torch.func.vmap(torch.func.grad(ℓ))`` over chunks of
examples, one block per parameter tensor (never concatenated); chunks a, b with sums of
squared deviations M2 are merged with Chan, Golub & LeVeque's (1979) pairwise update in
float64, M2 = M2_a + M2_b + |ḡ_a − ḡ_b|² n_a n_b / (n_a + n_b). Each example runs through the
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
    check_measurable,
    example_chunks,
    mode_of,
    num_params,
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


def _gradient_blocks(
    model: nn.Module, loss_fn: LossFn, inputs: Tensor, targets: Tensor
) -> list[Tensor]:
    """Per-example gradients as (n, d_p) blocks, one per parameter, by vmap(grad)."""
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = dict(model.named_buffers())

    def example_loss(p: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        outputs = torch.func.functional_call(model, {**buffers, **p}, (x.unsqueeze(0),))
        return loss_fn(outputs, y.unsqueeze(0))

    grads = torch.func.vmap(torch.func.grad(example_loss), in_dims=(None, 0, 0))
    n = int(inputs.shape[0])
    return [g.reshape(n, -1) for g in grads(params, inputs, targets).values()]


def per_example_gradients(
    model: nn.Module, loss_fn: LossFn, inputs: Tensor, targets: Tensor
) -> Tensor:
    """(n, d) per-example gradients ∇ℓ_i(θ), ℓ_i = loss_fn(f(x_i; θ), y_i), flat like θ."""
    return torch.cat(_gradient_blocks(model, loss_fn, inputs, targets), dim=1)


def gradient_noise(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    chunk_size: int | None = 256,
    directions: Tensor | None = None,
) -> NoiseStats:
    """Tr C, |g|², B_simple, σ² (and the share of Tr C in span(``directions``)), exactly.

    ``chunk_size`` examples' gradients are held in memory at once (chunk_size × d numbers).
    Per chunk of n examples, M2 = Σ_i |g_i|² − |Σ_i g_i|²/n (each |g_i|² in the model's
    dtype, summed in float64; relative rounding ≈ ε_dtype (1 + 1/B_simple)), merged across
    chunks as in the module docstring.
    """
    check_measurable(model, inputs, targets)
    dim = num_params(model)
    basis = None
    if directions is not None:
        q, _ = torch.linalg.qr(directions.to(dtype=torch.float64))
        basis = q.to(next(model.parameters()).dtype)
    count, mean, m2, m2_in = 0, None, 0.0, 0.0
    for s in example_chunks(int(inputs.shape[0]), chunk_size):
        blocks = _gradient_blocks(model, loss_fn, inputs[s], targets[s])
        n = blocks[0].shape[0]
        total = torch.cat([g.sum(dim=0) for g in blocks]).to(torch.float64)
        squares = sum(float(torch.linalg.vecdot(g, g).sum(dtype=torch.float64)) for g in blocks)
        chunk_mean = total / n
        chunk_m2 = squares - float(total @ total) / n
        mean = torch.zeros_like(chunk_mean) if mean is None else mean
        shift = chunk_mean - mean
        weight = count * n / (count + n)
        m2 += chunk_m2 + weight * float(shift @ shift)
        if basis is not None:
            offsets = torch.cumsum(torch.tensor([0] + [g.shape[1] for g in blocks]), 0).tolist()
            projected = sum(
                g @ basis[a:b] for g, a, b in zip(blocks, offsets[:-1], offsets[1:], strict=True)
            ).to(torch.float64)
            projected_total = projected.sum(dim=0)
            projected_shift = shift @ basis.to(torch.float64)
            m2_in += float(projected.square().sum()) - float(projected_total.square().sum()) / n
            m2_in += weight * float(projected_shift @ projected_shift)
        mean += shift * (n / (count + n))
        count += n
    trace_cov = m2 / count
    grad_norm_sq = float(mean @ mean)
    return NoiseStats(
        trace_cov=trace_cov,
        grad_norm_sq=grad_norm_sq,
        noise_scale=trace_cov / grad_norm_sq if grad_norm_sq > 0 else math.inf,
        sigma2=trace_cov / dim,
        n_examples=count,
        dim=dim,
        mode=mode_of(model),
        top_k_fraction=None if basis is None else m2_in / m2,
    )


def noise_fraction_in(
    directions: Tensor,
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    chunk_size: int | None = 256,
) -> float:
    """Tr(Pᵀ C P) / Tr C, P = orthonormalised ``directions`` (d, k): noise share in their span."""
    stats = gradient_noise(model, loss_fn, inputs, targets, chunk_size, directions=directions)
    return float(stats.top_k_fraction)
