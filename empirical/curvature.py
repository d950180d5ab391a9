"""One-call curvature and noise summary of a network on a fixed measurement subset.

At the model's current parameters θ, on the examples given (a fixed held-out or training
subset, e.g. 2,000 examples):
- top-k Hessian eigenvalues λ_1 ≥ … ≥ λ_k by Lanczos (``lanczos_steps`` products;
  :mod:`~threefactors.empirical.lanczos`), λ_max = λ_1, and λ_1/λ_k;
- Tr H by Hutchinson with ``trace_probes`` Rademacher probes, with its standard error
  (:mod:`~threefactors.empirical.trace`);
- optionally the gradient noise Tr C, |g|², B_simple = Tr C/|g|², σ² = Tr C/d and the share
  of Tr C in the span of the top-k eigenvectors (:mod:`~threefactors.empirical.noise`);
- optionally the loss L(θ) on the examples.
Measured in the model's current train/eval mode, reported under ``mode``; parameters and
mode are left unchanged. The linear stability bound of SGD on a quadratic, η < 2/λ_max
(docs/theory.md, "Where the SDE breaks"; Jastrzębski et al. 2019, arXiv 1807.05031), is
what λ_max is compared with.
"""

from __future__ import annotations

import time
from typing import Any

from torch import Tensor, nn

from threefactors.empirical.functional import LossFn, check_measurable
from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.lanczos import Eigenpairs, lanczos
from threefactors.empirical.noise import gradient_noise
from threefactors.empirical.trace import hutchinson


def top_eigenvectors(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    k: int = 5,
    steps: int = 25,
    seed: int = 0,
    chunk_size: int | None = None,
) -> Eigenpairs:
    """Top-k Hessian eigenpairs at the model's parameters (for Nudged SGD's projector P)."""
    op = HessianOperator(model, loss_fn, inputs, targets, chunk_size=chunk_size)
    return lanczos(op, k=k, steps=steps, seed=seed)


def measure(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    *,
    k: int = 5,
    lanczos_steps: int = 25,
    trace_probes: int = 10,
    noise: bool = True,
    loss: bool = False,
    seed: int = 0,
    chunk_size: int | None = None,
) -> dict[str, Any]:
    """λ_max, top-k eigenvalues, Tr H (± se), and gradient noise, as a JSON-able dict.

    Keys: ``lambda_max``, ``top_eigenvalues``, ``eigen_residuals``, ``condition_top_k``
    (λ_1/λ_k), ``hessian_trace``, ``hessian_trace_stderr``, ``grad_noise_trace`` (Tr C),
    ``grad_norm_sq``, ``noise_scale``, ``sigma2``, ``noise_top_k_fraction`` (noise keys are
    None when ``noise`` is False), ``n_matvecs``, ``n_examples``, ``seconds``, ``mode``, and
    ``loss`` when ``loss`` is True. ``trace_probes`` = 0 skips the trace (None).
    """
    clock = time.perf_counter()
    if noise:  # refused before any work when per-example gradients are not defined
        check_measurable(model, inputs, targets)
    op = HessianOperator(model, loss_fn, inputs, targets, chunk_size=chunk_size)
    pairs = lanczos(op, k=k, steps=lanczos_steps, seed=seed)
    trace = hutchinson(op, probes=trace_probes, seed=seed + 1) if trace_probes > 0 else None
    stats = None
    if noise:
        stats = gradient_noise(model, loss_fn, inputs, targets, directions=pairs.eigenvectors)
    values = pairs.eigenvalues.tolist()
    extra = {"loss": op.loss_and_gradient()[0]} if loss else {}
    return {
        "lambda_max": values[0],
        "top_eigenvalues": values,
        "eigen_residuals": pairs.residuals.tolist(),
        "condition_top_k": values[0] / values[-1] if values[-1] != 0 else None,
        "hessian_trace": None if trace is None else trace.value,
        "hessian_trace_stderr": None if trace is None else trace.stderr,
        "grad_noise_trace": None if stats is None else stats.trace_cov,
        "grad_norm_sq": None if stats is None else stats.grad_norm_sq,
        "noise_scale": None if stats is None else stats.noise_scale,
        "sigma2": None if stats is None else stats.sigma2,
        "noise_top_k_fraction": None if stats is None else stats.top_k_fraction,
        "n_matvecs": op.n_matvecs,
        "n_examples": op.n_examples,
        "seconds": time.perf_counter() - clock,
        "mode": op.mode,
        **extra,
    }
