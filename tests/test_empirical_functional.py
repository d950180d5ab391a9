"""Flat-parameter views of a network: round trips and the functional loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from threefactors.empirical.functional import (
    example_chunks,
    flat_params,
    make_loss,
    num_params,
    set_flat_params,
    unflatten,
)
from threefactors.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()


def test_flat_round_trip_and_copy():
    model = _model()
    theta = flat_params(model)
    assert theta.shape == (num_params(model),) == (4 * 6 + 6 + 6 * 3 + 3,)
    theta_new = torch.randn_like(theta)
    set_flat_params(model, theta_new)
    assert torch.equal(flat_params(model), theta_new)
    assert not torch.equal(theta, theta_new)  # the first copy did not follow the model
    for (name, p), view in zip(
        model.named_parameters(), unflatten(model, theta_new).values(), strict=True
    ):
        assert torch.equal(p, view), name


def test_functional_loss_matches_module_and_autograd():
    model = _model()
    x = torch.randn(10, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (10,))
    loss = make_loss(model, F.cross_entropy, x, y)
    theta = flat_params(model)
    assert float(loss(theta)) == pytest.approx(float(F.cross_entropy(model(x), y)), rel=1e-14)
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    autograd = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    assert torch.allclose(torch.func.grad(loss)(theta), autograd, rtol=1e-12, atol=1e-14)


def test_chunks_cover_examples_and_bad_input():
    chunks = example_chunks(10, 3)
    assert [c.stop - c.start for c in chunks] == [3, 3, 3, 1]
    assert example_chunks(10, None) == [slice(0, 10)]
    with pytest.raises(InputError):
        example_chunks(10, 0)
    with pytest.raises(InputError):
        set_flat_params(_model(), torch.zeros(3, dtype=torch.float64))
