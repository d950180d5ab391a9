"""Hessian–vector products against the dense torch.func.hessian oracle."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from threefactors.empirical.functional import flat_params, make_loss
from threefactors.empirical.hessian import HessianOperator
from threefactors.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def problem(make_classifier):
    """A 2-layer tanh MLP (341 parameters, float64) on 300 random 8-d points, 5 classes."""
    model, x, y = make_classifier()
    return model, x, y


def test_hvp_matches_dense_hessian(problem):
    model, x, y = problem
    op = HessianOperator(model, F.cross_entropy, x, y, chunk_size=64)
    # Oracle: torch.func.hessian of the whole-batch loss, not of the chunks.
    dense = torch.func.hessian(make_loss(model, F.cross_entropy, x, y))(flat_params(model))
    assert torch.allclose(op.dense(), dense, rtol=1e-10, atol=1e-13)
    v = torch.randn(op.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    hv = op @ v
    # float64 round-off over 300 examples: relative error ~1e-15; 1e-10 catches any bug.
    assert float((hv - dense @ v).norm() / (dense @ v).norm()) < 1e-10
    block = torch.randn(op.dim, 3, dtype=torch.float64)
    assert torch.allclose(op.matmat(block), dense @ block, rtol=1e-10, atol=1e-12)
    assert op.n_matvecs == 4


def test_chunking_does_not_change_the_operator(problem):
    model, x, y = problem
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    whole = HessianOperator(model, F.cross_entropy, x, y).matvec(v)
    for chunk in (1, 7, 299):
        chunked = HessianOperator(model, F.cross_entropy, x, y, chunk_size=chunk).matvec(v)
        assert float((chunked - whole).norm() / whole.norm()) < 1e-12


def test_gradient_and_loss(problem):
    model, x, y = problem
    op = HessianOperator(model, F.cross_entropy, x, y, chunk_size=50)
    value, grad = op.loss_and_gradient()
    loss = make_loss(model, F.cross_entropy, x, y)
    assert value == pytest.approx(float(loss(op.theta)), rel=1e-12)
    assert torch.allclose(grad, torch.func.grad(loss)(op.theta), rtol=1e-10, atol=1e-14)


def test_operator_leaves_model_untouched_and_records_mode(problem):
    model, x, y = problem
    before = flat_params(model)
    model.eval()
    op = HessianOperator(model, F.cross_entropy, x, y)
    op.matvec(torch.ones(op.dim, dtype=torch.float64))
    assert op.mode == "eval" and not model.training
    model.train()
    assert HessianOperator(model, F.cross_entropy, x, y).mode == "train" and model.training
    assert torch.equal(flat_params(model), before)


def test_snapshot_does_not_follow_later_training(problem):
    model, x, y = problem
    op = HessianOperator(model, F.cross_entropy, x, y)
    v = torch.randn(op.dim, dtype=torch.float64)
    first = op.matvec(v)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    try:
        assert torch.equal(op.matvec(v), first)
    finally:
        with torch.no_grad():
            for p in model.parameters():
                p.sub_(0.1)


def test_mse_loss_falls_back_to_reverse_over_reverse():
    """torch cannot run forward-mode through F.mse_loss's backward; the operator switches
    order, says so, and still gives the exact product."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = torch.randn(40, 6, dtype=torch.float64)
    y = torch.randn(40, 2, dtype=torch.float64)
    op = HessianOperator(model, F.mse_loss, x, y, chunk_size=15, method="forward-over-reverse")
    assert op.method == "forward-over-reverse"
    v = torch.randn(op.dim, dtype=torch.float64)
    dense = torch.func.hessian(make_loss(model, F.mse_loss, x, y))(flat_params(model))
    assert float((op @ v - dense @ v).norm() / (dense @ v).norm()) < 1e-10
    assert op.method == "reverse-over-reverse" and op.n_matvecs == 1


def test_all_product_methods_agree_with_the_oracle_for_vectors_and_blocks(problem):
    """Kept gradient graph, forward-over-reverse, reverse-over-reverse: the same H v and
    H V (vmapped, 13 columns: across a BLOCK_COLUMNS boundary) as the dense oracle, chunked
    or not, and counted per column."""
    model, x, y = problem
    dense = torch.func.hessian(make_loss(model, F.cross_entropy, x, y))(flat_params(model))
    generator = torch.Generator().manual_seed(3)
    block = torch.randn(dense.shape[0], 13, dtype=torch.float64, generator=generator)
    for method in ("gradient-graph", "forward-over-reverse", "reverse-over-reverse"):
        for chunk in (None, 70):
            op = HessianOperator(model, F.cross_entropy, x, y, chunk_size=chunk, method=method)
            for _ in range(2):  # the second product reuses the kept graph
                hv = op @ block[:, 0]
                assert float((hv - dense @ block[:, 0]).norm() / hv.norm()) < 1e-10
            assert torch.allclose(op @ block, dense @ block, rtol=1e-10, atol=1e-12)
            assert op.n_matvecs == 15 and op.method == method
    with pytest.raises(InputError, match="method"):
        HessianOperator(model, F.cross_entropy, x, y, method="finite-differences")
