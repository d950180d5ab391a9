"""Symmetric linear operators on flat vectors that count their products.

The spectral and trace estimators (:mod:`~threefactors.empirical.lanczos`,
:mod:`~threefactors.empirical.trace`) touch a d × d symmetric matrix A only through
products A v, and their cost is the number of products (Lanczos: Golub & Van Loan,
*Matrix Computations*; Hutch++: Meyer et al. 2021, arXiv 2010.09649).
:class:`LinearOperator` is what they accept: any object with ``dim``, ``device``,
``dtype``, ``n_matvecs`` and ``matvec``. :class:`CountingOperator` supplies ``op @ v``,
``matmat`` and the counter to an operator that implements one product;
:class:`MatrixOperator` wraps a dense matrix (exact spectra for tests and benchmarks);
:class:`~threefactors.empirical.hessian.HessianOperator` is the loss Hessian of a network.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor


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
