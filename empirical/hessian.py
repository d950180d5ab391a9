"""The loss Hessian of a network as a linear operator on flat parameter vectors.

H(θ) = ∇²L(θ),  L(θ) = Σ_c (n_c/N) L_c(θ),

where the N examples are split into chunks c of n_c examples and L_c is the mean loss of
chunk c, so H v = Σ_c (n_c/N) H_c v is exact for any chunking (only memory changes).
Each H_c v is a Hessian–vector product by forward-over-reverse differentiation,

    H_c v = d/dε ∇L_c(θ + ε v) |_{ε=0}  =  torch.func.jvp(torch.func.grad(L_c), (θ,), (v,)),

which costs about two gradient evaluations and never forms H (Pearlmutter 1994; the
forward-over-reverse order is the cheapest in torch.func, see its "Hessians" tutorial).

The operator is taken at the parameters the model has when it is constructed (a snapshot:
training the model afterwards does not move it) and in the model's current train/eval mode,
recorded in ``mode``. Neither parameters nor mode are changed. Our models have no BatchNorm
or dropout, so both modes give the same H; for a model that has them, measure in eval mode
(train-mode BatchNorm makes the loss of one example depend on its batch).

Every operator here (and any object with ``dim``, ``device``, ``dtype``, ``n_matvecs`` and
``matvec``) can be handed to :mod:`~threefactors.empirical.lanczos` and
:mod:`~threefactors.empirical.trace`.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor, nn

from threefactors.empirical.functional import (
    LossFn,
    example_chunks,
    flat_params,
    make_loss,
    mode_of,
)
from threefactors.errors import require


class LinearOperator(Protocol):
    """A symmetric d × d linear operator on flat vectors, counting its products."""

    dim: int
    device: torch.device
    dtype: torch.dtype
    n_matvecs: int

    def matvec(self, v: Tensor) -> Tensor: ...


class CountingOperator:
    """Shared behaviour: ``op @ v``, ``matmat`` and the ``n_matvecs`` counter.

    Subclasses set ``dim``, ``device``, ``dtype`` and implement ``_apply(v)`` for one vector
    of their own dtype and device.
    """

    dim: int
    device: torch.device
    dtype: torch.dtype

    def __init__(self) -> None:
        self.n_matvecs = 0

    def _apply(self, v: Tensor) -> Tensor:
        raise NotImplementedError

    def matvec(self, v: Tensor) -> Tensor:
        """A v for a d-vector ``v`` (cast to the operator's dtype and device)."""
        if v.shape != (self.dim,):
            raise ValueError(f"vector of shape {tuple(v.shape)}; the operator is {self.dim}-dim")
        self.n_matvecs += 1
        return self._apply(v.to(device=self.device, dtype=self.dtype))

    def matmat(self, vectors: Tensor) -> Tensor:
        """A V for a (d, m) block V, one product per column (counted as m products)."""
        return torch.stack([self.matvec(col) for col in vectors.unbind(dim=1)], dim=1)

    def __matmul__(self, v: Tensor) -> Tensor:
        return self.matvec(v) if v.dim() == 1 else self.matmat(v)


class MatrixOperator(CountingOperator):
    """A dense symmetric matrix as an operator (exact spectra for tests and benchmarks)."""

    def __init__(self, matrix: Tensor) -> None:
        super().__init__()
        if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"a square matrix is needed, not shape {tuple(matrix.shape)}")
        self.matrix = matrix
        self.dim = matrix.shape[0]
        self.device, self.dtype = matrix.device, matrix.dtype

    def _apply(self, v: Tensor) -> Tensor:
        return self.matrix @ v

    def dense(self) -> Tensor:
        return self.matrix


FORWARD_OVER_REVERSE = "forward-over-reverse"
REVERSE_OVER_REVERSE = "reverse-over-reverse"
_METHODS = (FORWARD_OVER_REVERSE, REVERSE_OVER_REVERSE)


class HessianOperator(CountingOperator):
    """H = ∇²L(θ) of the mean loss over (inputs, targets), θ = all parameters of ``model``.

    ``chunk_size`` bounds the examples per forward/backward pass (memory); the result does
    not depend on it beyond rounding. Attributes: ``theta`` (the snapshot θ), ``dim``,
    ``device``, ``dtype``, ``n_matvecs``, ``n_examples``, ``mode`` ("train"/"eval") and
    ``method``, the differentiation order of the products: ``"forward-over-reverse"``
    (default) or ``"reverse-over-reverse"``, H v = ∇(∇L · v) = ``torch.func.vjp(grad(L), θ)``
    applied to v — the same matrix, as H is symmetric. Where torch cannot push a tangent
    through the loss's backward (torch 2.x fails so for ``F.mse_loss``: "ZeroTensors are
    immutable"), the operator switches to reverse-over-reverse and records it in ``method``.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        inputs: Tensor,
        targets: Tensor,
        chunk_size: int | None = None,
        method: str = FORWARD_OVER_REVERSE,
    ) -> None:
        super().__init__()
        require(method in _METHODS, "method", method, f"choose one of {', '.join(_METHODS)}")
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

    def _apply(self, v: Tensor) -> Tensor:
        try:
            return self._sum_over_chunks(v)
        except RuntimeError as err:  # torch's forward-mode mse_loss_backward (see class doc)
            if self.method != FORWARD_OVER_REVERSE or "ZeroTensors are immutable" not in str(err):
                raise
            self.method = REVERSE_OVER_REVERSE
            return self._sum_over_chunks(v)

    def _sum_over_chunks(self, v: Tensor) -> Tensor:
        out = torch.zeros_like(self.theta)
        for weight, loss in self._chunks:
            if self.method == FORWARD_OVER_REVERSE:
                _, hv = torch.func.jvp(torch.func.grad(loss), (self.theta,), (v,))
            else:
                (hv,) = torch.func.vjp(torch.func.grad(loss), self.theta)[1](v)
            out.add_(hv, alpha=weight)
        return out

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
