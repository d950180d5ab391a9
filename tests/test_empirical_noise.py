"""Gradient noise from vmap per-example gradients against a plain loop over examples."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from threefactors.empirical.functional import flat_params, num_params
from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.noise import gradient_noise, noise_fraction_in, per_example_gradients

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def problem(make_classifier):
    """A 2-layer ReLU MLP (341 parameters, float64) on 120 random points, and its per-example
    gradients by a plain loop of autograd calls (the oracle)."""
    model, x, y = make_classifier("relu", n=120)
    rows = []
    for i in range(len(x)):
        loss = F.cross_entropy(model(x[i : i + 1]), y[i : i + 1])
        rows.append(
            torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, model.parameters())])
        )
    return model, x, y, torch.stack(rows)


def test_per_example_gradients_match_loop(problem):
    model, x, y, loop = problem
    assert torch.allclose(
        per_example_gradients(model, F.cross_entropy, x, y), loop, rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("chunk_size", [None, 37, 1])
def test_noise_statistics_match_loop(problem, chunk_size):
    model, x, y, loop = problem
    stats = gradient_noise(model, F.cross_entropy, x, y, chunk_size=chunk_size)
    mean = loop.mean(dim=0)
    trace_cov = float(((loop - mean) ** 2).sum(dim=1).mean())  # Tr C, population (1/N)
    assert stats.trace_cov == pytest.approx(trace_cov, rel=1e-10)
    assert stats.grad_norm_sq == pytest.approx(float(mean @ mean), rel=1e-10)
    assert stats.noise_scale == pytest.approx(trace_cov / float(mean @ mean), rel=1e-10)
    assert stats.sigma2 == pytest.approx(trace_cov / num_params(model), rel=1e-10)
    assert (stats.n_examples, stats.dim, stats.mode) == (120, 341, "train")


def test_trace_cov_is_the_minibatch_noise(problem):
    """Minibatch gradients of S examples drawn with replacement have E|g_B − g|² = Tr C/S."""
    model, x, y, _ = problem
    stats = gradient_noise(model, F.cross_entropy, x, y)
    batch, repeats = 8, 400
    generator = torch.Generator().manual_seed(2)
    theta_grad = torch.cat(
        [
            g.reshape(-1)
            for g in torch.autograd.grad(F.cross_entropy(model(x), y), model.parameters())
        ]
    )
    deviations = []
    for _ in range(repeats):
        idx = torch.randint(0, len(x), (batch,), generator=generator)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        g = torch.cat([p.reshape(-1) for p in torch.autograd.grad(loss, model.parameters())])
        deviations.append(float(((g - theta_grad) ** 2).sum()))
    values = torch.tensor(deviations, dtype=torch.float64)
    stderr = float(values.std()) / math.sqrt(repeats)
    assert abs(float(values.mean()) - stats.trace_cov / batch) <= 4 * stderr


def test_noise_fraction_in_top_eigenvectors_matches_dense(problem):
    model, x, y, loop = problem
    dense = HessianOperator(model, F.cross_entropy, x, y).dense()
    vectors = torch.linalg.eigh(dense).eigenvectors[:, -3:]
    centred = loop - loop.mean(dim=0)
    cov = centred.T @ centred / len(x)
    exact = float((vectors.T @ cov @ vectors).trace() / cov.trace())
    assert noise_fraction_in(vectors, model, F.cross_entropy, x, y, chunk_size=50) == pytest.approx(
        exact, rel=1e-10
    )
    # Any basis of the same span gives the same share (directions are orthonormalised).
    mixed = vectors @ torch.tensor(
        [[2.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 3.0]], dtype=torch.float64
    )
    assert noise_fraction_in(mixed, model, F.cross_entropy, x, y) == pytest.approx(exact, rel=1e-10)
    # The whole space holds all of the noise.
    eye = torch.eye(num_params(model), dtype=torch.float64)
    assert noise_fraction_in(eye, model, F.cross_entropy, x, y) == pytest.approx(1.0, rel=1e-10)


def test_model_left_untouched_in_eval_mode(problem):
    model, x, y, _ = problem
    before = flat_params(model)
    model.eval()
    try:
        assert gradient_noise(model, F.cross_entropy, x, y).mode == "eval"
        assert not model.training
    finally:
        model.train()
    assert torch.equal(flat_params(model), before)
