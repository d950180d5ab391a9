"""The loss Hessian of a network as a linear operator on flat parameter vectors.

H(θ) = ∇²L(θ),  L(θ) = Σ_c (n_c/N) L_c(θ),

where the N examples are split into chunks c of n_c examples and L_c is the mean loss of
chunk c, so H v = Σ_c (n_c/N) H_c v is exact for any chunking (only memory changes).
Each H_c v is a Hessian–vector product (Pearlmutter 1994) that never forms H:

    H_c v = ∇_θ (∇L_c(θ) · v),

the derivative of g_c · v where g_c = ∇L_c(θ) is computed once, with its graph kept
(``create_graph``), and differentiated again for every vector (method ``"gradient-graph"``,
the default; PyHessian's scheme, Yao et al. 2020, arXiv 1912.07145). A block V = [v_1 … v_m]
is multiplied ``BLOCK_COLUMNS`` columns per vectorised call, ``torch.func.vmap`` over the
pull-back of ∇L_c at θ (``torch.func.vjp``, also built once). Measured on MNIST-1D MLPs
(1,000 examples, one thread): the kept graph is 1.2–1.9× faster per vector than
forward-over-reverse ``torch.func.jvp(grad(L_c), θ, v)`` on the 79k-parameter MLP (kept as
``"forward-over-reverse"`` alongside ``"reverse-over-reverse"``, ``vjp(grad(L_c), θ)``
rebuilt per vector); for a 30-column block, vmap over 10 columns at a time matched the best
of one-column-at-a-time (79k parameters, where vmap over all 30 was 0.8× of it) and of
vmap over all 30 (2.7k parameters, 1.6–1.9× one-at-a-time). The kept graphs cost the
activations of all N examples in memory (chunking no longer bounds it for this method;
choose another method to trade speed for memory).

The operator is taken at the parameters the model has when it is constructed (a snapshot:
training the model afterwards does not move it) and in the model's current train/eval mode,
recorded in ``mode``. Neither parameters nor mode are changed. Our models have no BatchNorm
or dropout, so both modes give the same H; for a model with BatchNorm in train mode H is the
Hessian of the batch loss with batch statistics, and the running statistics never move
(:func:`~threefactors.empirical.functional.forward` passes copies of the buffers).

:class:`HessianOperator` is a :class:`~threefactors.empirical.linear_operator.CountingOperator`,
so it can be handed to :mod:`~threefactors.empirical.lanczos` and
:mod:`~threefactors.empirical.trace`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor, nn

from threefactors.empirical.functional import (
    LossFn,
    check_measurable,
    example_chunks,
    flat_params,
    make_loss,
    mode_of,
)
from threefactors.empirical.linear_operator import CountingOperator
from threefactors.errors import require

GRADIENT_GRAPH = "gradient-graph"
FORWARD_OVER_REVERSE = "forward-over-reverse"
REVERSE_OVER_REVERSE = "reverse-over-reverse"
_METHODS = (GRADIENT_GRAPH, FORWARD_OVER_REVERSE, REVERSE_OVER_REVERSE)
BLOCK_COLUMNS = 10  # columns per vectorised call of matmat (measured: module docstring)
Product = Callable[[Tensor], Tensor]


def _rebuilt_product(
    loss: Callable[[Tensor], Tensor], theta: Tensor, method: str, v: Tensor
) -> Tensor:
    """H v differentiating ∇L afresh: forward-over-reverse jvp or reverse-over-reverse vjp."""
    if method == FORWARD_OVER_REVERSE:
        return torch.func.jvp(torch.func.grad(loss), (theta,), (v,))[1]
    return torch.func.vjp(torch.func.grad(loss), theta)[1](v)[0]


def _along_graph(grad: Tensor, theta: Tensor, v: Tensor) -> Tensor:
    """H v = ∇_θ (g · v) on a kept gradient graph g = ∇L(θ)."""
    with torch.enable_grad():
        return torch.autograd.grad(grad, theta, v, retain_graph=True)[0]


class HessianOperator(CountingOperator):
    """H = ∇²L(θ) of the mean loss over (inputs, targets), θ = all parameters of ``model``.

    ``chunk_size`` bounds the examples per forward/backward pass (memory); the result does
    not depend on it beyond rounding. Attributes: ``theta`` (the snapshot θ), ``dim``,
    ``device``, ``dtype``, ``n_matvecs``, ``n_examples``, ``mode`` ("train"/"eval") and
    ``method``, how products are taken (module docstring): ``"gradient-graph"`` (default),
    ``"forward-over-reverse"`` or ``"reverse-over-reverse"`` — the same matrix, as H is
    symmetric. ``matmat`` multiplies blocks by vectorised calls. Where torch cannot push
    a tangent through the loss's backward (torch 2.x fails so for ``F.mse_loss``:
    "ZeroTensors are immutable"), forward-over-reverse switches to reverse-over-reverse and
    records it in ``method``.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        inputs: Tensor,
        targets: Tensor,
        chunk_size: int | None = None,
        method: str = GRADIENT_GRAPH,
    ) -> None:
        super().__init__()
        require(method in _METHODS, "method", method, f"choose one of {', '.join(_METHODS)}")
        check_measurable(model, inputs, targets, per_example=False)
        self.theta = flat_params(model)
        self.dim = self.theta.numel()
        self.device, self.dtype = self.theta.device, self.theta.dtype
        self.mode = mode_of(model)
        self.method = method
        self.n_examples = int(inputs.shape[0])
        self._chunks = [
            (
                (s.stop - s.start) / self.n_examples,
                make_loss(model, loss_fn, inputs[s], targets[s]),
            )
            for s in example_chunks(self.n_examples, chunk_size)
        ]

        self._cache: dict[tuple[int, bool], Product] = {}

    def _apply(self, v: Tensor) -> Tensor:
        return self._product(v, batched=False)

    def matmat(self, vectors: Tensor) -> Tensor:
        """H V for a (d, m) block V, ``BLOCK_COLUMNS`` columns per vectorised call (counted as
        m products)."""
        if vectors.dim() != 2 or vectors.shape[0] != self.dim:
            raise ValueError(
                f"block of shape {tuple(vectors.shape)}; the operator is {self.dim}-dim"
            )
        self.n_matvecs += vectors.shape[1]
        block = vectors.to(device=self.device, dtype=self.dtype).T.contiguous()
        pieces = [self._product(rows, batched=True) for rows in block.split(BLOCK_COLUMNS)]
        return torch.cat(pieces).T

    def _product(self, v: Tensor, batched: bool) -> Tensor:
        try:
            return self._sum_over_chunks(v, batched)
        except RuntimeError as err:  # torch's forward-mode mse_loss_backward (see class doc)
            if self.method != FORWARD_OVER_REVERSE or "ZeroTensors are immutable" not in str(err):
                raise
            self.method = REVERSE_OVER_REVERSE
            return self._sum_over_chunks(v, batched)

    def _sum_over_chunks(self, v: Tensor, batched: bool) -> Tensor:
        out = torch.zeros_like(v)
        for index, (weight, loss) in enumerate(self._chunks):
            out.add_(self._chunk_product(index, loss, batched)(v), alpha=weight)
        return out

    def _chunk_product(
        self, index: int, loss: Callable[[Tensor], Tensor], batched: bool
    ) -> Product:
        """v ↦ H_c v (or V ↦ H_c V row-wise when ``batched``) for chunk ``index``."""
        if self.method != GRADIENT_GRAPH:
            single = functools.partial(_rebuilt_product, loss, self.theta, self.method)
            return torch.func.vmap(single) if batched else single
        key = (index, batched)
        if key not in self._cache:  # built once per operator: the snapshot θ never moves
            with torch.enable_grad():
                if batched:
                    pullback = torch.func.vjp(torch.func.grad(loss), self.theta)[1]
                    self._cache[key] = torch.func.vmap(lambda v: pullback(v)[0])
                else:
                    theta = self.theta.detach().requires_grad_(True)
                    (grad,) = torch.autograd.grad(loss(theta), theta, create_graph=True)

                    self._cache[key] = functools.partial(_along_graph, grad, theta)
        return self._cache[key]

    def loss_and_gradient(self) -> tuple[float, Tensor]:
        """L(θ) and g = ∇L(θ) at the snapshot θ (chunked like the products)."""
        value, grad = 0.0, torch.zeros_like(self.theta)
        for weight, loss in self._chunks:
            g, lc = torch.func.grad_and_value(loss)(self.theta)
            value += weight * float(lc)
            grad.add_(g, alpha=weight)
        return value, grad

    def dense(self) -> Tensor:
        """The full d × d Hessian by ``torch.func.hessian`` (an oracle for small models)."""
        out = torch.zeros(self.dim, self.dim, dtype=self.dtype, device=self.device)
        for weight, loss in self._chunks:
            out.add_(torch.func.hessian(loss)(self.theta), alpha=weight)
        return out
