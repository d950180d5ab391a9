"""Line probes of a network's loss: interpolation, "step too long", fluctuation–dissipation.

- Interpolation between two solutions θ₁, θ₂ (Three Factors; Goodfellow et al. 2015):
  L((1 − α) θ₁ + α θ₂) and the accuracy there, for α ∈ [−1, 2]. A sharper minimum shows
  as a steeper rise of the loss on its side.
- Step too long along the sharpest direction (Jastrzębski et al., ICLR 2019,
  arXiv 1807.05031, Sec. 5): restrict the SGD step to the top Hessian eigenvector v,
  θ(s) = θ + s t v with t = −η gᵀv, and read the loss profile ℓ(s) = L(θ(s)); s = 1 is where
  the step lands along v. On the quadratic model along v (curvature λ_v = vᵀHv), for a
  full-batch step ℓ(1) − ℓ(0) = η (gᵀv)² (η λ_v / 2 − 1) and the line minimum is at
  s* = 1/(η λ_v) (a minibatch step: see :func:`step_too_long`): the step
  overshoots the valley floor along v when η λ_v > 1 (s* < 1) and raises the loss along v
  when η λ_v > 2. The paper's claim is that SGD operates with ℓ(1) ≳ ℓ(0) along v.
- Fluctuation–dissipation at stationarity of plain SGD (Yaida 2018, arXiv 1810.00004,
  FDR₁): with θ_{t+1} = θ_t − η g_t and g_t a minibatch gradient, stationarity of E|θ|²
  gives −2η E[θ·g] + η² E|g|² = 0, i.e.  ⟨θ·∇L⟩ = (η/2) ⟨|∇L_S|²⟩  (E[θ·g | θ] = θ·∇L, so
  the minibatch θ·g can stand on the left). No momentum, no weight decay. A ratio ≠ 1
  means the run is not stationary (yet), e.g. weights still growing under cross-entropy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from threefactors.empirical.functional import LossFn, example_chunks, flat_params, forward
from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.lanczos import lanczos
from threefactors.errors import check_positive, require


def _loss_and_accuracy(
    model: nn.Module,
    theta: Tensor,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    chunk_size: int | None,
) -> tuple[float, float | None]:
    """L(θ) (mean over examples, chunks weighted by size) and the argmax accuracy.

    Accuracy is None unless the outputs are (n, classes) scores and targets class indices.
    """
    n = int(inputs.shape[0])
    loss, correct, classify = 0.0, 0, targets.dim() == 1 and not targets.is_floating_point()
    with torch.no_grad():
        for s in example_chunks(n, chunk_size):
            outputs = forward(model, theta, inputs[s])
            loss += float(loss_fn(outputs, targets[s])) * (s.stop - s.start) / n
            classify = classify and outputs.dim() == 2
            if classify:
                correct += int((outputs.argmax(dim=1) == targets[s]).sum())
    return loss, (correct / n if classify else None)


def interpolate(
    model: nn.Module,
    theta_1: Tensor,
    theta_2: Tensor,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    alphas: Tensor | None = None,
    chunk_size: int | None = None,
) -> dict[str, list]:
    """Loss and accuracy at (1 − α) θ₁ + α θ₂ for each α (default −1, −0.9, …, 2: k/10 exactly,
    so α = 0 and 1 are the two solutions).

    ``model`` supplies the architecture (its own parameters are not used or changed).
    Returns ``{"alpha": [...], "loss": [...], "accuracy": [...] (None entries if the task
    is not classification)}``.
    """
    alphas = torch.arange(-10, 21, dtype=torch.float64) / 10 if alphas is None else alphas
    alphas = torch.as_tensor(alphas, dtype=torch.float64)
    rows = [
        _loss_and_accuracy(
            model, (1 - a) * theta_1 + a * theta_2, loss_fn, inputs, targets, chunk_size
        )
        for a in alphas.tolist()
    ]
    return {
        "alpha": alphas.tolist(),
        "loss": [loss for loss, _ in rows],
        "accuracy": [accuracy for _, accuracy in rows],
    }


def step_too_long(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    eta: float,
    direction: Tensor | None = None,
    *,
    batch: tuple[Tensor, Tensor] | None = None,
    alphas: Tensor | None = None,
    lanczos_steps: int = 25,
    seed: int = 0,
    chunk_size: int | None = None,
) -> dict[str, Any]:
    """The loss along the sharpest direction v before and after the SGD step's component.

    L, H are the mean loss and its Hessian on (``inputs``, ``targets``), g = ∇L; the step's
    gradient g_B is taken on ``batch`` (a minibatch (x, y); default: the same examples, so
    g_B = g, a full-batch step). ``direction`` defaults to the top Hessian eigenvector by
    Lanczos (``lanczos_steps``, ``seed``); it is normalised. The step along v is
    t = −η g_Bᵀv, and the profile ℓ(s) = L(θ + s t v) is read at ``alphas`` (default
    0, 0.1, …, 2). The quadratic model along v, ℓ(s) ≈ ℓ(0) + s t gᵀv + s² t² λ_v/2 with
    λ_v = vᵀHv, predicts ℓ(1) − ℓ(0) = t gᵀv + t² λ_v/2 and the line minimum
    s* = −gᵀv/(t λ_v); for a full-batch step these are η (gᵀv)² (η λ_v/2 − 1) and 1/(η λ_v).

    Returns ``eta``, ``slope`` (gᵀv), ``step_slope`` (g_Bᵀv), ``step`` (t), ``curvature``
    (λ_v), ``eta_curvature`` (η λ_v), ``loss_before`` (ℓ(0)), ``loss_after`` (ℓ(1)),
    ``loss_change`` (ℓ(1) − ℓ(0)), ``quadratic_change``, ``line_minimum`` (argmin of the
    profile, in units of the step), ``quadratic_line_minimum`` (s*), ``too_long``
    (ℓ(1) ≥ ℓ(0): the step does not lower the loss along v), ``overshoot`` (0 < line minimum
    < 1: the step passes the valley floor along v) and ``profile`` {"alpha", "loss"}. With a
    minibatch, g_Bᵀv may even have the opposite sign to gᵀv (noise along v): the step then
    climbs from the start (line minimum 0).
    """
    check_positive("eta", eta)
    op = HessianOperator(model, loss_fn, inputs, targets, chunk_size=chunk_size)
    if direction is None:
        direction = lanczos(op, k=1, steps=lanczos_steps, seed=seed).eigenvectors[:, 0]
    require(direction.shape == (op.dim,), "direction", tuple(direction.shape), f"need ({op.dim},)")
    v = direction.to(dtype=op.dtype, device=op.device)
    v = v / v.norm()
    _, grad = op.loss_and_gradient()
    step_grad = (
        grad if batch is None else HessianOperator(model, loss_fn, *batch).loss_and_gradient()[1]
    )
    slope, step_slope = float(grad @ v), float(step_grad @ v)
    curvature = float(v @ op.matvec(v))
    step = -eta * step_slope
    alphas = torch.arange(0, 21, dtype=torch.float64) / 10 if alphas is None else alphas
    alphas = torch.as_tensor(alphas, dtype=torch.float64)
    theta = op.theta
    profile = [
        _loss_and_accuracy(model, theta + (a * step) * v, loss_fn, inputs, targets, chunk_size)[0]
        for a in alphas.tolist()
    ]
    before = _loss_and_accuracy(model, theta, loss_fn, inputs, targets, chunk_size)[0]
    after = _loss_and_accuracy(model, theta + step * v, loss_fn, inputs, targets, chunk_size)[0]
    line_minimum = float(alphas[int(torch.tensor(profile).argmin())])
    eta_curvature = eta * curvature
    return {
        "eta": eta,
        "slope": slope,
        "step_slope": step_slope,
        "step": step,
        "curvature": curvature,
        "eta_curvature": eta_curvature,
        "loss_before": before,
        "loss_after": after,
        "loss_change": after - before,
        "quadratic_change": step * slope + step**2 * curvature / 2,
        "line_minimum": line_minimum,
        "quadratic_line_minimum": (
            -slope / (step * curvature) if step != 0 and curvature > 0 else math.inf
        ),
        "too_long": after >= before,
        "overshoot": 0 < line_minimum < 1,
        "profile": {"alpha": alphas.tolist(), "loss": profile},
    }


def fd_sample(theta: Tensor, minibatch_grad: Tensor) -> tuple[float, float]:
    """One step's observables for :func:`fluctuation_dissipation`: (θ·g_S, |g_S|²).

    Take them with θ the parameters *before* the update θ ← θ − η g_S.
    """
    return float(theta @ minibatch_grad), float(minibatch_grad @ minibatch_grad)


def _block_means(values: Tensor, n_blocks: int) -> Tensor:
    """Means of ``n_blocks`` equal contiguous blocks (a remainder at the start is dropped)."""
    size = values.numel() // n_blocks
    return values[values.numel() - size * n_blocks :].reshape(n_blocks, size).mean(dim=1)


def fluctuation_dissipation(
    theta_dot_grad: Sequence[float] | Tensor,
    grad_norm_sq: Sequence[float] | Tensor,
    eta: float,
    n_blocks: int = 20,
) -> dict[str, float | int]:
    """Yaida's FDR₁ check from a stationary stream of SGD steps.

    Inputs: per step t, a_t = θ_t·g_t and |g_t|² (:func:`fd_sample`), with g_t the minibatch
    gradient used in that step. Left side ⟨a⟩, right side (η/2)⟨|g|²⟩, their ratio and
    difference. Successive steps are correlated, so standard errors come from ``n_blocks``
    batch means (blocks must be much longer than the autocorrelation time, ~1/(η λ_min)
    steps on a quadratic); the ratio's by the delta method on the block means,
    se(L/R)² ≈ (s_L² − 2 (L/R) s_LR + (L/R)² s_R²) / (R² B).
    """
    check_positive("eta", eta)
    a = torch.as_tensor(theta_dot_grad, dtype=torch.float64).reshape(-1)
    b = torch.as_tensor(grad_norm_sq, dtype=torch.float64).reshape(-1) * (eta / 2)
    require(a.numel() == b.numel(), "grad_norm_sq", b.numel(), f"need {a.numel()} samples")
    require(n_blocks >= 2, "n_blocks", n_blocks, "need ≥ 2 blocks")
    require(a.numel() >= n_blocks, "theta_dot_grad", a.numel(), f"need ≥ n_blocks={n_blocks}")
    lhs_blocks, rhs_blocks = _block_means(a, n_blocks), _block_means(b, n_blocks)
    lhs, rhs = float(lhs_blocks.mean()), float(rhs_blocks.mean())
    cov = torch.cov(torch.stack([lhs_blocks, rhs_blocks]))
    var_l, var_r, cov_lr = float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1])
    ratio = lhs / rhs
    ratio_var = (var_l - 2 * ratio * cov_lr + ratio**2 * var_r) / (rhs**2 * n_blocks)
    diff_var = (var_l - 2 * cov_lr + var_r) / n_blocks
    return {
        "lhs": lhs,
        "lhs_stderr": math.sqrt(var_l / n_blocks),
        "rhs": rhs,
        "rhs_stderr": math.sqrt(var_r / n_blocks),
        "ratio": ratio,
        "ratio_stderr": math.sqrt(max(ratio_var, 0.0)),
        "difference": lhs - rhs,
        "difference_stderr": math.sqrt(max(diff_var, 0.0)),
        "n_samples": int(a.numel()),
        "n_blocks": n_blocks,
        "eta": eta,
    }


def step_lengths(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    targets: Tensor,
    eta: float,
    directions: dict[str, Tensor],
    minibatches: Sequence[tuple[Tensor, Tensor]],
    multipliers: Sequence[float] = (0.5, 1.0),
    chunk_size: int | None = None,
    relative: bool = False,
) -> dict[str, dict[str, list[float]]]:
    """The authors' step-length probe (Jastrzębski et al., ICLR 2019, Sec. 5): for each named
    direction v and each minibatch B, the loss change L(θ − γη(g_Bᵀv)v) − L(θ) on
    (``inputs``, ``targets``) — the v-component of an SGD step of length γη — for every
    multiplier γ; with ``relative``, in percent of L(θ), 100·[L(θ') / L(θ) − 1] (the
    authors' plotted quantity). Returns direction → str(γ) → one change per minibatch.
    """
    check_positive("eta", eta)
    theta = flat_params(model)
    before = _loss_and_accuracy(model, theta, loss_fn, inputs, targets, chunk_size)[0]
    unit = {
        name: (v / v.norm()).to(dtype=theta.dtype, device=theta.device)
        for name, v in directions.items()
    }
    out = {name: {f"{g:g}": [] for g in multipliers} for name in directions}
    for batch in minibatches:
        step_grad = HessianOperator(model, loss_fn, *batch).loss_and_gradient()[1]
        for name, v in unit.items():
            step = -eta * float(step_grad @ v)
            for g in multipliers:
                after = _loss_and_accuracy(
                    model, theta + (g * step) * v, loss_fn, inputs, targets, chunk_size
                )[0]
                change = after - before
                out[name][f"{g:g}"].append(100 * change / before if relative else change)
    return out


SATURATION_BOUND = 2.0  # |z| > 2: tanh′(z) = 1 − tanh²(z) < 0.071, the unit passes < 7 %


@torch.no_grad()
def tanh_saturation(
    model: nn.Module, inputs: Tensor, bound: float = SATURATION_BOUND
) -> dict[str, Any]:
    """How saturated the tanh units of a sequential model are on ``inputs``: with z the
    pre-activations of the hidden tanh layers (unit × example), ``fraction`` is the share of
    |z| > ``bound`` and ``mean_derivative`` the mean of φ′(z) = 1 − tanh²(z), over all
    hidden units and examples (``layers``: the same per layer). A graded measure of the
    saturation hypothesis of "SGD smooths the sharpest directions" (Jastrzębski et al.,
    ICLR 2018 workshop): a saturated unit passes little gradient, so the curvature along its
    incoming weights is small. InputError for a model without a tanh layer."""
    check_positive("bound", bound)
    layers, saturated, derivative, count = [], 0.0, 0.0, 0
    x = inputs
    for module in model:
        if isinstance(module, nn.Tanh):
            z = x.flatten(1).double()
            layer_saturated = float((z.abs() > bound).sum())
            layer_derivative = float((1 - torch.tanh(z) ** 2).sum())
            layers.append(
                {
                    "fraction": layer_saturated / z.numel(),
                    "mean_derivative": layer_derivative / z.numel(),
                }
            )
            saturated, derivative, count = (
                saturated + layer_saturated,
                derivative + layer_derivative,
                count + z.numel(),
            )
        x = module(x)
    require(count > 0, "model", type(model).__name__, "has no tanh layer to probe")
    return {"fraction": saturated / count, "mean_derivative": derivative / count, "layers": layers}
