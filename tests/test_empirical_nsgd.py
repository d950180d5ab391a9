"""Nudged SGD: the step along the top-K Hessian eigenvectors is scaled by γ, the rest kept."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from threefactors.empirical import models
from threefactors.empirical.functional import flat_params, make_loss
from threefactors.empirical.nsgd import Nudge, nudge_vector
from threefactors.errors import InputError


@pytest.mark.parametrize("gamma", [0.1, 1.0, 5.0])
def test_nudge_scales_the_projection_by_gamma(gamma):
    gen = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(50, 3, generator=gen, dtype=torch.float64)).Q
    g = torch.randn(50, generator=gen, dtype=torch.float64)
    nudged = nudge_vector(g, basis, gamma)
    projector = basis @ basis.T
    assert torch.allclose(projector @ nudged, gamma * projector @ g, atol=1e-12)
    rest = torch.eye(50, dtype=torch.float64) - projector
    assert torch.allclose(rest @ nudged, rest @ g, atol=1e-12)


def test_one_nsgd_step_matches_the_dense_formula():
    """θ' = θ − η[g − (1 − γ)PPᵀg] with P the top-2 eigenvectors of the dense Hessian
    (torch.func.hessian + eigvalsh on a 187-parameter network)."""
    torch.manual_seed(0)
    model = models.build("mlp", (1, 6), 3, width=10, depth=2, seed=0).double()
    x, y = torch.randn(40, 1, 6, dtype=torch.float64), torch.randint(0, 3, (40,))
    loss = make_loss(model, F.cross_entropy, x, y)
    theta = flat_params(model)
    hessian = torch.func.hessian(loss)(theta)
    _, vectors = torch.linalg.eigh(hessian)
    top = vectors[:, -2:]
    g = torch.func.grad(loss)(theta)
    eta, gamma = 0.1, 0.2
    expected = theta - eta * (g - (1 - gamma) * top @ (top.T @ g))

    nudge = Nudge(gamma, 2)
    nudge.set_basis(top)
    F.cross_entropy(model(x), y).backward()
    nudge.apply(model)
    torch.optim.SGD(model.parameters(), lr=eta).step()
    assert torch.allclose(flat_params(model), expected, rtol=0, atol=1e-12)


def test_bad_input():
    with pytest.raises(InputError) as err:
        Nudge(0.0, 5)
    assert err.value.parameter == "nsgd-gamma"
    with pytest.raises(InputError) as err:
        Nudge(0.5, 0)
    assert err.value.parameter == "nsgd-k"
