"""The counting linear-operator protocol, on a dense matrix whose products are known."""

from __future__ import annotations

import pytest
import torch

from threefactors.empirical.linear_operator import LinearOperator, MatrixOperator


def test_products_are_the_matrix_products_and_are_counted():
    a = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    op: LinearOperator = MatrixOperator(a)
    assert (op.dim, op.dtype, op.n_matvecs) == (2, torch.float64, 0)
    assert torch.equal(op @ torch.tensor([1.0, 0.0], dtype=torch.float64), a[:, 0])
    block = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0]], dtype=torch.float64)
    assert torch.equal(op @ block, a @ block)
    assert op.n_matvecs == 1 + 3  # one vector, then one product per column


def test_vectors_are_cast_to_the_operator_dtype():
    op = MatrixOperator(torch.eye(3, dtype=torch.float64))
    out = op.matvec(torch.ones(3, dtype=torch.float32))
    assert out.dtype == torch.float64 and torch.equal(out, torch.ones(3, dtype=torch.float64))


def test_wrong_shapes_are_rejected():
    op = MatrixOperator(torch.eye(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="2-dim"):
        op.matvec(torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="square"):
        MatrixOperator(torch.ones(2, 3))
    assert op.n_matvecs == 0  # a rejected vector is not counted
