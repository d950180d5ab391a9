"""A network's loss as a function of one flat parameter vector θ ∈ R^d.

Every curvature and noise estimator in this package works on flat vectors: the Hessian is a
d × d operator, eigenvectors are d-vectors, Nudged SGD projects flat gradients. This module
is the single place where a ``torch.nn.Module``'s named parameters are flattened and
unflattened (in the order of ``model.named_parameters()``), and where the loss

    L(θ) = loss_fn(f(x; θ), y)        (mean loss over the examples given)

becomes a pure function of θ through ``torch.func.functional_call`` (buffers stay fixed at
their current values; the model runs in whatever train/eval mode it is in).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from threefactors.errors import require

LossFn = Callable[[Tensor, Tensor], Tensor]


def mode_of(model: nn.Module) -> str:
    """``"train"`` or ``"eval"``: the mode a measurement on ``model`` is taken in."""
    return "train" if model.training else "eval"


def check_measurable(
    model: nn.Module, inputs: Tensor, targets: Tensor, per_example: bool = True
) -> None:
    """Raise :class:`~threefactors.errors.InputError` unless the loss of ``model`` on
    (``inputs``, ``targets``) has a Hessian (and, with ``per_example``, per-example
    gradients) to measure: the model has parameters, the batch holds at least one example and
    one target per input, and — for per-example gradients — no module normalises with batch
    statistics in train mode (BatchNorm: an example's loss would depend on its batch; measure
    in eval mode). The Hessian of the batch loss is defined in train mode too: :func:`forward`
    passes copies of the buffers, so the running statistics never move.
    """
    require(num_params(model) > 0, "model", type(model).__name__, "has no parameters")
    n = int(inputs.shape[0]) if inputs.dim() else 0
    require(n >= 1, "inputs", tuple(inputs.shape), "an empty batch: need at least one example")
    require(
        targets.dim() >= 1 and int(targets.shape[0]) == n,
        "targets",
        tuple(targets.shape),
        f"need one target per input ({n})",
    )
    for name, module in model.named_modules() if per_example else ():
        require(
            not (module.training and getattr(module, "track_running_stats", False)),
            "model",
            f"{name or 'model'}: {type(module).__name__} in train mode",
            "per-example gradients of a batch-normalised loss depend on the batch: measure "
            "in eval mode (model.eval())",
        )


def num_params(model: nn.Module) -> int:
    """d, the number of scalar parameters (shared parameters counted once)."""
    return sum(p.numel() for p in model.parameters())


def flat_params(model: nn.Module) -> Tensor:
    """θ: a detached 1-D copy of all parameters, in ``named_parameters()`` order."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def set_flat_params(model: nn.Module, flat: Tensor) -> None:
    """Write the flat vector ``flat`` (length d) into the model's parameters, in place."""
    d = num_params(model)
    require(flat.dim() == 1 and flat.numel() == d, "flat", tuple(flat.shape), f"expected ({d},)")
    offset = 0
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_(flat[offset : offset + n].view_as(p))
            offset += n


def unflatten(model: nn.Module, flat: Tensor) -> dict[str, Tensor]:
    """The parameter dict {name: view of ``flat``} that ``functional_call`` takes.

    Views keep ``flat`` in the autograd graph, so gradients and tangents w.r.t. the flat
    vector flow through.
    """
    named = list(model.named_parameters())
    pieces = torch.split(flat, [p.numel() for _, p in named])
    return {name: piece.view(p.shape) for (name, p), piece in zip(named, pieces, strict=True)}


def forward(model: nn.Module, flat: Tensor, inputs: Tensor) -> Tensor:
    """f(x; θ): the model's outputs at parameters ``flat`` (buffers as they are).

    The buffers are passed as copies, so a layer that updates its buffers in train mode
    (BatchNorm's running statistics) neither changes the model nor breaks a torch.func
    transform (which refuses in-place updates of captured tensors).
    """
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    state = {**buffers, **unflatten(model, flat)}
    return torch.func.functional_call(model, state, (inputs,))


def make_loss(
    model: nn.Module, loss_fn: LossFn, inputs: Tensor, targets: Tensor
) -> Callable[[Tensor], Tensor]:
    """θ ↦ L(θ) = loss_fn(f(inputs; θ), targets), a pure function of the flat vector θ."""

    def loss(flat: Tensor) -> Tensor:
        return loss_fn(forward(model, flat, inputs), targets)

    return loss


def example_chunks(n_examples: int, chunk_size: int | None) -> list[slice]:
    """Contiguous slices covering ``range(n_examples)``, each at most ``chunk_size`` long."""
    if chunk_size is None or chunk_size >= n_examples:
        return [slice(0, n_examples)]
    require(chunk_size >= 1, "chunk_size", chunk_size, "must be ≥ 1")
    return [slice(i, min(i + chunk_size, n_examples)) for i in range(0, n_examples, chunk_size)]
